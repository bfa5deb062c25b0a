// The way out (proxy/submit/submits.h):
//   customer ──submit_sm──▶ destination normalised ─▶ text decoded once ─▶ a part of a long
//   message? (long_messages.cc) ─▶ policy decides ─▶ stateful rules in the state store, one
//   script ─▶ route (ported numbers, prefixes) ─▶ the operator side ─▶ the operator's answer:
//   the receipt mapping remembered, usage counted, the customer answered exactly once.
#include "proxy/submit/submits.h"

#include "policy/msisdn.h"
#include "policy/saudi_time.h"
#include "proxy/deliver/receipt_id.h"
#include "proxy/log.h"
#include "proxy/submit/message_text.h"
#include "smpp/pdu_edit.h"
#include "smpp/smpp_time.h"

namespace proxy {

namespace status = smpp::status;

namespace {
// When a message's receipt mapping may go: its receipt can come until its validity_period ends,
// and an EXPIRED receipt a little after. 0 (the configured default) when it gives none.
int64_t receipt_expiry(std::string_view validity_period, int64_t now) {
  auto until = smpp::smpp_time_to_unix(validity_period, now);
  if (!until) return 0;
  return std::clamp<int64_t>(*until + 3600, now + 60, now + StateStore::kReceiptMappingMaxS);
}
}  // namespace

Submits::Submits(Context& ctx, Accounts& accounts, ReceiptMap& receipts)
    : ctx_(ctx), accounts_(accounts), receipts_(receipts), usage_(*ctx.store, ctx.counters(), ctx.owner),
      flags_(*ctx.store, ctx.counters()) {}

void Submits::wire(SubmitReplies* replies, Outbound* outbound, DeliverySink* deliveries, Holds* holds) {
  holds_ = holds;
  replies_ = replies;
  outbound_ = outbound;
  deliveries_ = deliveries;
}

void Submits::refuse(const SubmitOrigin& from, uint32_t sequence, uint32_t st) {
  ++ctx_.counters().submits_refused;
  ++from.account->tally.refused;
  ctx_.stats.refused(st);
  replies_->answer_submit(from.session, sequence, st, "");
}

void Submits::submit(const SubmitOrigin& from, uint32_t sequence, std::string_view pdu, const smpp::ShortMessageView& sm) {
  Counters& counters = ctx_.counters();
  const auto& policy = ctx_.policy;
  ++counters.submits_received;
  ++from.account->tally.received;
  auto destination = policy::normalize_msisdn(sm.destination_addr);
  if (!destination) {
    audit_refusal(from, sm, sm.destination_addr, {}, "destination.invalid", status::ESME_RINVDSTADR);
    return refuse(from, sequence, status::ESME_RINVDSTADR);
  }
  TextResult text = message_text(sm, ctx_.config.text, text_);
  if (text == TextResult::bad_udh) {
    audit_refusal(from, sm, *destination, {}, "message.bad_udh", status::ESME_RINVESMCLASS);
    return refuse(from, sequence, status::ESME_RINVESMCLASS);
  }
  bool malformed = false;
  if (auto part = concatenation_of(sm, malformed)) return submit_part(from, sequence, pdu, sm, std::move(*destination), *part);
  if (malformed) {
    audit_refusal(from, sm, *destination, {}, "message.bad_concatenation", status::ESME_RINVESMCLASS);
    return refuse(from, sequence, status::ESME_RINVESMCLASS);
  }
  int64_t now_s = ctx_.wall_ms() / 1000;
  policy::Verdict verdict;
  policy::Message message{from.account->name, sm.source_addr, *destination, text_, text == TextResult::ok, 1};
  if (policy->enforcing()) {
    verdict = policy->decide(message, policy::Context{now_s});
    ctx_.stats.decided(verdict, &from.account->tally);
  }
  if (verdict.outcome == policy::Outcome::reject) {
    audit_refusal(from, sm, *destination, verdict, policy::rule_id(verdict.rule));
    return refuse(from, sequence, verdict.status);
  }
  if (verdict.flagged) flags_.count(from.account->name, now_s, verdict, text_);
  // Review first: a campaign waiting for review waits whatever the hour; once approved, its
  // release is decided again, and inside quiet hours held until the window opens.
  ReviewStage::Decision review = review_of(*from.account, sm.source_addr, text_, verdict);
  if (review.outcome != ReviewStage::Outcome::pass) return under_review(from, sequence, pdu, sm, *destination, verdict, review);
  if (verdict.held()) return hold_message(from, sequence, pdu, sm, *destination, verdict);
  policy::StateNeeds needs;
  if (policy->enforcing()) needs = policy->state_needs(message, verdict);
  auto submit = new_submit();
  submit->customer = from.session;
  submit->customer_sequence = sequence;
  submit->account = &from.account->name;
  submit->tally = &from.account->tally;
  submit->destination = std::move(*destination);
  submit->policy = policy;
  submit->verdict = verdict;
  submit->receipt_expires_s = receipt_expiry(sm.validity_period, now_s);
  if (ctx_.audit.enabled()) submit->sender = sm.source_addr;
  // International TON/NPI with the normalised number; every other byte is the customer's.
  if (!smpp::rewrite_destination(pdu, sm, 1, 1, submit->destination, submit->pdu))
    return refuse(from, sequence, status::ESME_RINVDSTADR);
  if (!needs.any()) {
    if (verdict.outcome == policy::Outcome::flag) ++counters.submits_flagged;
    return route(std::move(submit));
  }
  StateReservation& reservation = submit->reserved.emplace();
  reservation.account = *submit->account;
  reservation.sender = sm.source_addr;
  reservation.number = submit->destination;
  if (needs.awareness) reservation.number_hash = number_hash(ctx_.config, submit->destination);
  reservation.saudi_day = policy::saudi_time(now_s).day;
  reservation.parts = 1;
  reservation.needs = needs;
  const StateReservation& r = *submit->reserved;
  ctx_.store->reserve(r, [this, s = submit.release()](bool ok, policy::Rule failed) {
    state_checked(SubmitPtr(s), ok, failed);
  });
}

// The state store's answer for one message: relay it, refuse it, or decide without the store.
void Submits::state_checked(SubmitPtr submit, bool ok, policy::Rule failed) {
  Counters& counters = ctx_.counters();
  const auto& policy = ctx_.policy;
  if (!ok) {
    ++counters.state_degraded;
    policy::Rule blocking = policy->blocking_when_store_down(submit->reserved->needs);
    submit->reserved.reset();  // nothing was taken
    if (blocking != policy::Rule::none) {
      log::warn_limited("state store down: {} cannot be decided for account {}; ESME_RSYSERR (retry)",
                        policy::rule_id(blocking), *submit->account);
      ++counters.submits_temporary_error;
      audit_answer(*submit, status::ESME_RSYSERR, "");
      return answer(*submit, status::ESME_RSYSERR);
    }
    log::warn_limited("state store down: account {} relayed without its stateful rules (configured to pass)",
                      *submit->account);
  } else if (failed != policy::Rule::none) {
    submit->reserved.reset();  // a refused reservation took nothing
    submit->verdict.outcome = policy::Outcome::reject;
    submit->verdict.rule = failed;
    submit->verdict.status = policy->status(failed);
    if (policy->action(failed) == policy::Action::reject) {
      ctx_.stats.decided(submit->verdict, submit->tally);
      ++counters.submits_refused;
      if (submit->tally) ++submit->tally->refused;
      ctx_.stats.refused(submit->verdict.status);
      audit_answer(*submit, submit->verdict.status, "");
      return answer(*submit, submit->verdict.status);
    }
  }
  if (submit->verdict.outcome == policy::Outcome::flag) ++counters.submits_flagged;
  route(std::move(submit));
}

// A promotional message whose campaign is not approved: refused when its campaign was rejected or
// expired, held (noted in the campaign book) while it waits for review.
void Submits::under_review(const SubmitOrigin& from, uint32_t sequence, std::string_view pdu, const smpp::ShortMessageView& sm,
                           std::string_view recipient, policy::Verdict verdict, const ReviewStage::Decision& review) {
  if (review.outcome == ReviewStage::Outcome::reject) {
    ++ctx_.counters().campaign_messages_refused;
    verdict.outcome = policy::Outcome::reject;
    verdict.rule = review.rule;
    verdict.status = review.status;
    ctx_.stats.decided(verdict);
    audit_refusal(from, sm, recipient, verdict, policy::rule_id(review.rule));
    return refuse(from, sequence, review.status);
  }
  ++ctx_.counters().campaign_messages_held;
  review_->note(from.account->name, sm.source_addr, text_, review.campaign);
  hold_message(from, sequence, pdu, sm, std::string(recipient), verdict, review.campaign);
}

// What a message the rules accepted waits for: its campaign's review, or a surge's when its
// account is in one with `on_surge: hold` (every class then: a stolen login floods with anything).
ReviewStage::Decision Submits::review_of(const Account& account, std::string_view sender, std::string_view text,
                                         const policy::Verdict& verdict) {
  if (!review_ || !ctx_.policy->enforcing()) return {};
  if (account.surging() && account.config && account.config->volume.on_surge == OnSurge::hold)
    return review_->decide_surge(account.name, sender, text);
  return review_->decide(account.name, sender, text, verdict.message_class);
}

void Submits::audit_refusal(const SubmitOrigin& from, const smpp::ShortMessageView& sm, std::string_view recipient,
                            const policy::Verdict& v, std::string_view rule, uint32_t st) {
  if (!ctx_.audit.enabled()) return;
  AuditLog::Decision d;
  d.unix_ms = ctx_.wall_ms();
  d.policy_version = ctx_.policy->version();
  d.account = from.account->name;
  d.session = from.session;
  d.sender = sm.source_addr;
  d.message_class = v.rule == policy::Rule::none ? "" : policy::name(v.message_class);
  d.recipient = recipient;
  d.verdict = "reject";
  d.rule = rule;
  d.status = st ? st : v.status;
  ctx_.audit.decision(d);
}

void Submits::audit_answer(const Submit& submit, uint32_t st, std::string_view operator_id) {
  if (!ctx_.audit.enabled()) return;
  AuditLog::Decision d;
  d.unix_ms = ctx_.wall_ms();
  d.policy_version = submit.policy ? std::string_view(submit.policy->version()) : "";
  d.account = *submit.account;
  d.session = submit.customer;
  d.sender = submit.sender;
  d.message_class = policy::name(submit.verdict.message_class);
  d.recipient = submit.destination;
  d.verdict = policy::name(submit.verdict.outcome);
  d.rule = policy::rule_id(submit.verdict.rule);
  d.status = st;
  d.upstream = submit.upstream >= 0 ? std::string_view(ctx_.config.upstreams[size_t(submit.upstream)].name) : "";
  d.message_id = st == status::ESME_ROK ? view(submit.id) : "";
  d.operator_message_id = operator_id;
  ctx_.audit.decision(d);
}

void Submits::route(SubmitPtr submit) {
  auto upstream = outbound_->route(submit->destination);
  if (!upstream) {
    ++ctx_.counters().submits_refused;
    if (submit->tally) ++submit->tally->refused;
    ctx_.stats.refused(status::ESME_RINVDSTADR);
    return answer(*submit, status::ESME_RINVDSTADR);
  }
  submit->upstream = *upstream;
  submit->id = ctx_.ids.next();
  outbound_->dispatch(std::move(submit));
}

void Submits::send_internal(SubmitPtr submit) { route(std::move(submit)); }

void Submits::answer(Submit& submit, uint32_t st) {
  // Every submit ends here, once: settle what the state store holds for it.
  if (st == status::ESME_ROK && submit.verdict.outcome != policy::Outcome::reject) {
    // Counted here, written to the store in one batch per tick: billing needs totals, not a
    // round trip per message.
    usage_.count(*submit.account, ctx_.wall_ms() / 1000, submit.verdict.message_class, submit.counts_as_message);
  } else if (submit.reserved) {
    ctx_.store->release(*submit.reserved);  // not relayed: its awareness allowance and balance come back
  }
  submit.reserved.reset();
  const bool released_again = !submit.held_id.empty() && holds_ && holds_->settled(*submit.account, submit.held_id, st);
  if (submit.internal) return;
  if (submit.answered_early) {
    if (st != status::ESME_ROK && !released_again && (submit.registered_delivery & 0x03))
      failure_receipt(*submit.account, view(submit.id), submit.sender, submit.destination, st, "REJECTD", 8);
    return;
  }
  if (!replies_->answer_submit(submit.customer, submit.customer_sequence, st, st == status::ESME_ROK ? view(submit.id) : ""))
    ++ctx_.counters().submit_responses_orphaned;
}

void Submits::submit_failed(SubmitPtr submit, uint32_t st) { answer(*submit, st); }

void Submits::submit_answered(SubmitPtr submit, uint32_t st, std::string_view operator_id) {
  Counters& counters = ctx_.counters();
  const UpstreamConfig& upstream = ctx_.config.upstreams[size_t(submit->upstream)];
  if (st == status::ESME_ROK) {
    ++counters.submits_relayed;
    if (submit->tally) ++submit->tally->accepted;
    int64_t expires = submit->receipt_expires_s ? submit->receipt_expires_s
                                                : ctx_.wall_ms() / 1000 + ctx_.config.limits.receipt_map_ttl_s;
    if (auto key = canonical_operator_id(operator_id, upstream.submit_id_format))
      receipts_.remember(upstream.name, *key, *submit->account, view(submit->id), expires, ctx_.now_ms());
    else
      log::warn_limited("upstream {} gave message id {} which is not {}; its receipts will not map", upstream.name,
                        json_quoted(operator_id), "in the configured format");
  } else if (operator_id.empty() && (st == status::ESME_RSYSERR)) {
    ++counters.submits_temporary_error;
  } else {
    ++counters.submits_operator_error;
  }
  audit_answer(*submit, st, operator_id);
  answer(*submit, st);
}

// ---- held messages (proxy/hold/) ----

namespace {
// When the message's validity ends (0: none given): a held message whose validity ends before
// its window opens is not held.
int64_t validity_end(std::string_view validity_period, int64_t now) {
  auto until = smpp::smpp_time_to_unix(validity_period, now);
  return until ? *until : 0;
}
}  // namespace

// A message whose validity ends before its window opens is accepted and expires, as an SMSC's
// would: ESME_ROK, then at once the EXPIRED receipt it asked for (nothing is kept).
void Submits::expire_at_once(const SubmitOrigin& from, uint32_t sequence, const HeldRecord& record) {
  ++ctx_.counters().expired;
  const HeldRecord::Part& part = record.parts.front();
  if (!replies_->answer_submit(from.session, sequence, status::ESME_ROK, part.id)) ++ctx_.counters().submit_responses_orphaned;
  if (record.registered_delivery & 0x03)
    failure_receipt(record.account, part.id, record.source, record.destination, status::ESME_ROK, "EXPIRED", 3);
}

// Held before the customer hears ESME_ROK: nothing acknowledged is lost. A message that cannot
// be held (its validity ends before the window opens, or the account's bound is reached) gets
// the time rule's status, as without `hold`; a store that cannot answer, ESME_RSYSERR (retry).
void Submits::hold_message(const SubmitOrigin& from, uint32_t sequence, std::string_view pdu, const smpp::ShortMessageView& sm,
                           const std::string& destination, const policy::Verdict& verdict, std::string_view campaign) {
  const int64_t now_s = ctx_.wall_ms() / 1000;
  HeldRecord record;
  record.account = from.account->name;
  record.reason = campaign.empty() ? "quiet" : "review";
  record.campaign = campaign;
  record.release_at = campaign.empty() ? verdict.hold_until_s : 0;
  record.expires = validity_end(sm.validity_period, now_s);
  record.source = sm.source_addr;
  record.destination = destination;
  record.registered_delivery = sm.registered_delivery;
  record.message_class = policy::name(verdict.message_class);
  HeldRecord::Part part;
  MessageIdAllocator::Id id = ctx_.ids.next();
  part.id = view(id);
  if (!holds_ || !smpp::rewrite_destination(pdu, sm, 1, 1, destination, part.pdu)) {
    audit_refusal(from, sm, destination, verdict, policy::rule_id(verdict.rule));
    return refuse(from, sequence, holds_ ? status::ESME_RINVDSTADR : verdict.status);
  }
  record.id = part.id;
  record.parts.push_back(std::move(part));
  if (record.expires != 0 && record.expires <= record.release_at) return expire_at_once(from, sequence, record);
  // Over the account's bound: the time rule's status for a quiet-hour hold, "queue full" for a review.
  const uint32_t over_bound = campaign.empty() ? verdict.status : status::ESME_RMSGQFUL;
  holds_->hold(std::move(record), [this, session = from.session, sequence, id, status = over_bound,
                                   tally = &from.account->tally](bool ok, bool held) {
    if (!ok) return (void)replies_->answer_submit(session, sequence, status::ESME_RSYSERR, "");
    if (!held) {
      ++ctx_.counters().submits_refused;
      ++tally->refused;
      ctx_.stats.refused(status);
      return (void)replies_->answer_submit(session, sequence, status, "");
    }
    if (!replies_->answer_submit(session, sequence, status::ESME_ROK, view(id))) ++ctx_.counters().submit_responses_orphaned;
  });
}

void Submits::relay_held(const HeldRecord& record, const policy::Verdict& verdict, bool charged) {
  auto account = accounts_.find(record.account);
  if (account == accounts_.end()) return held_failure_receipts(record, status::ESME_RINVSYSID, "REJECTD", 8);
  std::vector<SubmitPtr> parts;
  for (const auto& p : record.parts) {
    MessageIdAllocator::Id id{};
    std::copy_n(p.id.data(), std::min<size_t>(16, p.id.size()), id.data());
    smpp::ShortMessageView sm;
    smpp::DecodeError error;
    const uint8_t registered_delivery = smpp::read_short_message(p.pdu, sm, error) ? sm.registered_delivery : 0;
    SubmitPtr s = answered_part(account->second, record.destination, record.source, id, registered_delivery, verdict,
                                charged, parts.empty());
    s->held_id = record.id;
    s->pdu = p.pdu;
    s->receipt_expires_s = record.expires ? std::clamp<int64_t>(record.expires + 3600, ctx_.wall_ms() / 1000 + 60,
                                                                ctx_.wall_ms() / 1000 + StateStore::kReceiptMappingMaxS) : 0;
    parts.push_back(std::move(s));
  }
  dispatch_parts(std::move(parts));
}

// A part of a message whose customer had ESME_ROK already (a long message, a held one): a
// failure from here on becomes a failure receipt.
SubmitPtr Submits::answered_part(Account& account, const std::string& destination, const std::string& source,
                                 MessageIdAllocator::Id id, uint8_t registered_delivery, const policy::Verdict& verdict,
                                 bool charged, bool first) {
  auto s = new_submit();
  s->answered_early = true;
  s->registered_delivery = registered_delivery;
  s->id = id;
  s->account = &account.name;
  s->tally = &account.tally;
  s->destination = destination;
  s->sender = source;
  s->policy = ctx_.policy;
  s->verdict = verdict;
  s->counts_as_message = first;  // usage counts a long message once
  if (charged) {  // a part the operator refuses gives its unit back
    s->reserved.emplace();
    s->reserved->account = account.name;
    s->reserved->parts = 1;
    s->reserved->needs.charge = true;
  }
  return s;
}

// One link for all parts, so that the operator gets them in order.
void Submits::dispatch_parts(std::vector<SubmitPtr> parts) {
  auto upstream = outbound_->route(parts.front()->destination);
  if (!upstream) {
    for (auto& s : parts) answer(*s, status::ESME_RINVDSTADR);
    return;
  }
  for (auto& s : parts) s->upstream = *upstream;
  if (parts.size() == 1) return outbound_->dispatch(std::move(parts.front()));
  outbound_->dispatch_in_order(*upstream, std::move(parts));
}

void Submits::held_failure_receipts(const HeldRecord& record, uint32_t st, std::string_view stat, uint8_t state) {
  for (const auto& p : record.parts) {
    smpp::ShortMessageView sm;
    smpp::DecodeError error;
    uint8_t rd = smpp::read_short_message(p.pdu, sm, error) ? sm.registered_delivery : record.registered_delivery;
    if (rd & 0x03) failure_receipt(record.account, p.id, record.source, record.destination, st, stat, state);
  }
}

void Submits::on_tick(uint64_t now, bool renew_claims, bool restore) {
  usage_.flush();
  flags_.flush();
  expire_held(now);
  if (renew_claims) renew_held_claims();
  if (restore) restore_held();
}

void Submits::finish() {
  usage_.flush(true);
  flags_.flush();
}

void Submits::describe(Snapshot& s) const {
  s.long_messages_held = held_.size();
  s.usage_batches_unconfirmed = usage_.unconfirmed();
}

}  // namespace proxy
