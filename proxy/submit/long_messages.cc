// Long messages: parts answered at once, held (in the state store too) until the last one, then
// one decision on the whole text and all parts forwarded in order, or failure receipts for all.
//
//   part k of n ──▶ checks that need no text ──▶ held (memory + store) ──▶ submit_sm_resp OK, id_k
//   last part  ──▶ whole text ──▶ rules + state (awareness once, balance per part)
//        accepted ──▶ parts 1..n on one operator link, in order
//        refused / missing parts after the timeout ──▶ a failure receipt per part that asked
// The contract, for customers: docs/long-messages.md.
#include <fmt/format.h>

#include <ctime>

#include "policy/msisdn.h"
#include "policy/saudi_time.h"
#include "proxy/log.h"
#include "proxy/submit/message_text.h"
#include "proxy/submit/submits.h"
#include "smpp/codec.h"
#include "smpp/pdu_view.h"
#include "smpp/pdu_edit.h"
#include "smpp/smpp_time.h"

namespace proxy {

namespace status = smpp::status;

namespace {
constexpr uint8_t kRejected = 8, kExpired = 3;

// A held message's name in held_: its account and key, into a reused buffer.
const std::string& held_key_into(std::string& out, std::string_view account, std::string_view key) {
  out.clear();
  fmt::format_to(std::back_inserter(out), "{}\n{}", account, key);
  return out;
}
}  // namespace

void Submits::submit_part(const SubmitOrigin& from, uint32_t sequence, std::string_view pdu, const smpp::ShortMessageView& sm,
                        std::string destination, smpp::Concatenation part) {
  Account& account = *from.account;
  if (ctx_.policy->enforcing()) {
    policy::Message message{account.name, sm.source_addr, destination, "", true, part.total};
    message.whole_text = false;  // the text rules wait for the last part
    policy::Verdict verdict = ctx_.policy->decide(message, policy::Context{ctx_.wall_ms() / 1000});
    if (verdict.outcome == policy::Outcome::reject) {
      ctx_.stats.decided(verdict, &account.tally);
      audit_refusal(from, sm, destination, verdict, policy::rule_id(verdict.rule));
      return refuse(from, sequence, verdict.status);
    }
  }
  part_key_.clear();
  fmt::format_to(std::back_inserter(part_key_), "{}:{}:{}:{}", sm.source_addr, destination, part.reference, part.total);
  const std::string& key = part_key_;
  const std::string& held_key = held_key_into(held_key_, account.name, key);
  auto it = held_.find(held_key);
  if (it == held_.end()) {
    if (account.held_messages >= ctx_.config.limits.long_messages_max) return refuse(from, sequence, status::ESME_RMSGQFUL);
    ++account.held_messages;
    HeldMessage fresh;
    fresh.account = account.name;
    fresh.key = key;
    fresh.source = sm.source_addr;
    fresh.destination = destination;
    fresh.total = part.total;
    fresh.deadline_ms = ctx_.now_ms() + uint64_t(ctx_.config.limits.long_message_timeout_s) * 1000;
    it = held_.emplace(held_key, std::move(fresh)).first;
  }
  HeldMessage& msg = it->second;
  if (auto dup = msg.parts.find(part.sequence); dup != msg.parts.end()) {
    ++ctx_.counters().long_message_parts_duplicated;  // answered as the first time: a retry must not make two parts
    replies_->answer_submit(from.session, sequence, status::ESME_ROK, view(dup->second.id));
    return;
  }
  if (msg.deciding) return refuse(from, sequence, status::ESME_RSYSERR);  // a part beyond the total, too late
  if (account.held_bytes + pdu.size() > size_t(ctx_.config.limits.long_message_bytes_max)) {
    if (msg.parts.empty()) forget_held(held_key);
    return refuse(from, sequence, status::ESME_RMSGQFUL);
  }
  HeldMessage::Part held;
  held.id = ctx_.ids.next();
  held.registered_delivery = sm.registered_delivery;
  if (!smpp::rewrite_destination(pdu, sm, 1, 1, destination, held.pdu)) return refuse(from, sequence, status::ESME_RINVDSTADR);
  ++ctx_.counters().long_message_parts;
  account.held_bytes += held.pdu.size();
  msg.bytes += held.pdu.size();
  blob_.assign(view(held.id)).append(held.pdu);
  MessageIdAllocator::Id id = held.id;
  msg.parts.emplace(part.sequence, std::move(held));
  int ttl = ctx_.config.limits.long_message_timeout_s + 60;
  // Answered once kept: an acknowledged part survives a restart (nothing acknowledged is lost).
  ctx_.store->hold_part(account.name, key, std::to_string(part.sequence), blob_, ttl, ctx_.owner,
                        [this, session_id = from.session, sequence, id, held_key, seq = part.sequence](bool ok) {
                          part_kept(session_id, sequence, id, held_key, seq, ok);
                        });
}

void Submits::part_kept(uint64_t session_id, uint32_t sequence, MessageIdAllocator::Id id, const std::string& held_key,
                        uint8_t seq, bool ok) {
  if (!ok) {
    ++ctx_.counters().state_degraded;
    if (auto m = held_.find(held_key); m != held_.end() && !m->second.deciding) {
      if (auto part = m->second.parts.find(seq); part != m->second.parts.end()) {
        size_t bytes = part->second.pdu.size();
        m->second.bytes -= std::min(m->second.bytes, bytes);
        Account& a = accounts_[m->second.account];
        a.held_bytes -= std::min(a.held_bytes, bytes);
        m->second.parts.erase(part);
      }
      if (m->second.parts.empty()) forget_held(held_key);
    }
    replies_->answer_submit(session_id, sequence, status::ESME_RSYSERR, "");
    return;
  }
  replies_->answer_submit(session_id, sequence, status::ESME_ROK, view(id));
  complete_if_whole(held_key);
}

void Submits::complete_if_whole(const std::string& held_key) {
  auto it = held_.find(held_key);
  if (it == held_.end() || it->second.deciding || it->second.parts.size() < it->second.total) return;
  decide_held(held_key);
}

void Submits::decide_held(const std::string& held_key) {
  HeldMessage& msg = held_.at(held_key);
  msg.deciding = true;
  WholeText whole(ctx_.config.text);
  for (const auto& [seq, p] : msg.parts) whole.add(p.pdu);
  const std::string& text = whole.text;
  const bool inspectable = whole.inspectable;
  policy::Verdict verdict;
  policy::StateNeeds needs;
  if (ctx_.policy->enforcing()) {
    policy::Message message{msg.account, msg.source, msg.destination, text, inspectable, msg.total};
    verdict = ctx_.policy->decide(message, policy::Context{ctx_.wall_ms() / 1000});
    const bool refused = verdict.outcome == policy::Outcome::reject;
    ctx_.stats.decided(verdict, refused ? &accounts_[msg.account].tally : nullptr);
    if (refused) {
      ++ctx_.counters().long_messages_refused;
      return fail_held(held_key, verdict.status, "REJECTD", kRejected);
    }
    if (verdict.flagged) flags_.count(msg.account, ctx_.wall_ms() / 1000, verdict, text);
    // As a one-part message: review first, then the window (submits.cc).
    ReviewStage::Decision review = review_of(accounts_[msg.account], msg.source, text, verdict);
    if (review.outcome == ReviewStage::Outcome::reject) {
      ++ctx_.counters().campaign_messages_refused;
      ++ctx_.counters().long_messages_refused;
      return fail_held(held_key, review.status, review.stat, review.stat == "EXPIRED" ? kExpired : kRejected);
    }
    if (review.outcome == ReviewStage::Outcome::hold) {
      ++ctx_.counters().campaign_messages_held;
      review_->note(msg.account, msg.source, text, review.campaign);
      return hold_long_message(held_key, verdict, review.campaign);
    }
    if (verdict.held()) return hold_long_message(held_key, verdict);
    needs = ctx_.policy->state_needs(message, verdict);
  }
  if (!needs.any()) return forward_held(held_key, verdict, false);
  StateReservation r;
  r.account = msg.account;
  r.sender = msg.source;
  r.number = msg.destination;
  r.number_hash = number_hash(ctx_.config, msg.destination);
  r.saudi_day = policy::saudi_time(ctx_.wall_ms() / 1000).day;
  r.parts = msg.total;  // the awareness allowance once, the balance per part
  r.needs = needs;
  ctx_.store->reserve(r, [this, held_key, verdict, needs](bool ok, policy::Rule failed) {
    held_state_checked(held_key, verdict, needs, ok, failed);
  });
}

// A long message inside its window, with `hold`: kept whole as one held message (every part was
// answered ESME_ROK already), its parts' own keys then forgotten. What cannot be held (its
// validity ends first, the account's bound, the store down) gets failure receipts now.
void Submits::hold_long_message(const std::string& held_key, const policy::Verdict& verdict, std::string_view campaign) {
  HeldMessage& msg = held_.at(held_key);
  const int64_t now_s = ctx_.wall_ms() / 1000;
  HeldRecord record;
  record.account = msg.account;
  record.reason = campaign.empty() ? "quiet" : "review";
  record.campaign = campaign;
  record.release_at = campaign.empty() ? verdict.hold_until_s : 0;
  record.source = msg.source;
  record.destination = msg.destination;
  record.message_class = policy::name(verdict.message_class);
  for (const auto& [seq, p] : msg.parts) {
    record.parts.push_back({std::string(view(p.id)), p.pdu});
    smpp::ShortMessageView sm;
    smpp::DecodeError error;
    if (record.parts.size() == 1 && smpp::read_short_message(p.pdu, sm, error)) {
      record.registered_delivery = sm.registered_delivery;
      if (auto until = smpp::smpp_time_to_unix(sm.validity_period, now_s)) record.expires = *until;
    }
  }
  record.id = record.parts.front().id;
  if (record.expires != 0 && record.expires <= record.release_at) {  // expires before the window opens
    ++ctx_.counters().expired;
    return fail_held(held_key, status::ESME_ROK, "EXPIRED", kExpired);
  }
  if (!holds_) {
    ++ctx_.counters().long_messages_refused;
    return fail_held(held_key, verdict.status, "REJECTD", kRejected);
  }
  const uint32_t over_bound = campaign.empty() ? verdict.status : status::ESME_RMSGQFUL;
  holds_->hold(std::move(record), [this, held_key, status = over_bound](bool ok, bool held) {
    if (!held_.count(held_key)) return;
    if (!ok) return fail_held(held_key, status::ESME_RSYSERR, "UNDELIV", kRejected);
    if (!held) {
      ++ctx_.counters().long_messages_refused;
      return fail_held(held_key, status, "REJECTD", kRejected);
    }
    forget_held(held_key);
  });
}

void Submits::held_state_checked(const std::string& held_key, const policy::Verdict& verdict,
                                 const policy::StateNeeds& needs, bool ok, policy::Rule failed) {
  if (!held_.count(held_key)) return;
  const auto& policy = ctx_.policy;
  if (!ok) {
    ++ctx_.counters().state_degraded;
    if (policy->blocking_when_store_down(needs) != policy::Rule::none)
      return fail_held(held_key, status::ESME_RSYSERR, "UNDELIV", kRejected);
    return forward_held(held_key, verdict, false);
  }
  if (failed != policy::Rule::none && policy->action(failed) == policy::Action::reject) {
    policy::Verdict refused = verdict;
    refused.outcome = policy::Outcome::reject;
    refused.rule = failed;
    ctx_.stats.decided(refused, &accounts_[held_.at(held_key).account].tally);
    ++ctx_.counters().long_messages_refused;
    return fail_held(held_key, policy->status(failed), "REJECTD", kRejected);
  }
  forward_held(held_key, verdict, needs.charge);
}

void Submits::forward_held(const std::string& held_key, const policy::Verdict& verdict, bool charged) {
  HeldMessage& msg = held_.at(held_key);
  Account& account = accounts_[msg.account];
  std::vector<SubmitPtr> parts;
  for (auto& [seq, p] : msg.parts) {
    SubmitPtr s = answered_part(account, msg.destination, msg.source, p.id, p.registered_delivery, verdict, charged, parts.empty());
    s->pdu = std::move(p.pdu);
    parts.push_back(std::move(s));
  }
  forget_held(held_key);
  ++ctx_.counters().long_messages_forwarded;
  dispatch_parts(std::move(parts));
}

void Submits::fail_held(const std::string& held_key, uint32_t st, std::string_view stat, uint8_t state) {
  const HeldMessage& msg = held_.at(held_key);
  for (const auto& [seq, p] : msg.parts)
    if (p.registered_delivery & 0x03) failure_receipt(msg.account, view(p.id), msg.source, msg.destination, st, stat, state);
  forget_held(held_key);
}

void Submits::forget_held(const std::string& held_key) {
  auto it = held_.find(held_key);
  if (it == held_.end()) return;
  ctx_.store->forget_held(it->second.account, it->second.key);
  if (auto a = accounts_.find(it->second.account); a != accounts_.end()) {
    --a->second.held_messages;
    a->second.held_bytes -= std::min(a->second.held_bytes, it->second.bytes);
  }
  held_.erase(it);
}

void Submits::expire_held(uint64_t now) {
  std::vector<std::string> expired;
  for (const auto& [key, msg] : held_)
    if (!msg.deciding && msg.deadline_ms <= now) expired.push_back(key);
  for (const auto& key : expired) {
    ++ctx_.counters().long_messages_expired;
    fail_held(key, status::ESME_ROK, "EXPIRED", kExpired);
  }
}

// A receipt for a part that will never reach an operator: the customer had ESME_ROK for it.
void Submits::failure_receipt(const std::string& account, std::string_view id, std::string_view customer_source,
                            std::string_view destination, uint32_t st, std::string_view stat, uint8_t state) {
  std::time_t now = std::time_t(ctx_.wall_ms() / 1000 + policy::kSaudiOffsetSeconds);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::string date = fmt::format("{:02}{:02}{:02}{:02}{:02}", tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
  smpp::ShortMessage r;
  r.source_addr_ton = 1;
  r.source_addr_npi = 1;
  r.source_addr = std::string(destination);
  r.destination_addr = std::string(customer_source);
  r.esm_class = 0x04;
  r.short_message = fmt::format("id:{} sub:001 dlvrd:000 submit date:{} done date:{} stat:{} err:{:03} text:", id, date, date,
                                stat, st);
  r.tlvs.push_back(smpp::Tlv{smpp::tag::receipted_message_id, std::string(id) + '\0'});
  r.tlvs.push_back(smpp::Tlv{smpp::tag::message_state, std::string(1, char(state))});
  auto d = std::make_unique<Delivery>();
  d->account = account;
  d->receipt = true;
  d->key = fmt::format("f:{}", id);
  smpp::encode_short_message(d->pdu, smpp::Command::deliver_sm, kSequenceSetWhenSent, r);
  ++ctx_.counters().failure_receipts;
  deliveries_->route_delivery(std::move(d));
}

// Keeps this instance's claims on the messages it holds alive (see StateStore::hold_part).
void Submits::renew_held_claims() {
  for (const auto& [key, msg] : held_)
    if (!msg.deciding) ctx_.store->renew_claim(msg.account, msg.key, ctx_.owner);
}

// After a restart: the parts this or another instance acknowledged before it stopped, read
// account by account from each account's index of held messages (never a scan of the
// keyspace), once a claim has had time to lapse so that a crashed predecessor's messages are
// free. A failure waits and tries the same account again, backing off.
void Submits::restore_held() {
  if (restore_.done || restore_.busy || ctx_.now_ms() < restore_.next_ms) return;
  if (!restore_.started) {
    restore_.started = true;
    for (const auto& [name, account] : accounts_) restore_.accounts.push_back(name);
  }
  if (restore_.accounts.empty()) {
    restore_.done = true;
    return;
  }
  restore_.busy = true;
  ctx_.store->held_parts(ctx_.owner, restore_.accounts.back(), [this](bool ok, std::vector<StateStore::HeldPart> parts) {
    restore_.busy = false;
    if (!ok) {
      restore_.backoff_ms = std::clamp<uint64_t>(restore_.backoff_ms * 2, 500, 30000);
      restore_.next_ms = ctx_.now_ms() + restore_.backoff_ms;
      return;
    }
    restore_.backoff_ms = 0;
    restore_.accounts.pop_back();
    pick_up_parts(std::move(parts));
    if (!ctx_.shutting_down) restore_held();  // the next account, one script at a time
  });
}

void Submits::pick_up_parts(std::vector<StateStore::HeldPart> parts) {
  std::vector<std::string> touched;
  for (auto& p : parts) {
    auto account = accounts_.find(p.account);
    if (account == accounts_.end() || p.blob.size() <= 16) continue;
    smpp::ShortMessageView sm;
    smpp::DecodeError error;
    bool malformed = false;
    std::string_view pdu = std::string_view(p.blob).substr(16);
    if (!smpp::read_short_message(pdu, sm, error)) continue;
    auto part = concatenation_of(sm, malformed);
    if (!part) continue;
    const std::string held_key = held_key_into(held_key_, p.account, p.message);
    auto [it, fresh] = held_.try_emplace(held_key);
    HeldMessage& msg = it->second;
    if (fresh) {
      ++account->second.held_messages;
      msg.account = p.account;
      msg.key = p.message;
      msg.source = sm.source_addr;
      msg.destination = sm.destination_addr;
      msg.total = part->total;
      msg.deadline_ms = ctx_.now_ms() + uint64_t(ctx_.config.limits.long_message_timeout_s) * 1000;
    }
    HeldMessage::Part held;
    std::copy_n(p.blob.data(), 16, held.id.data());
    held.id[16] = '\0';
    held.pdu = std::string(pdu);
    held.registered_delivery = sm.registered_delivery;
    size_t bytes = held.pdu.size();
    if (msg.parts.try_emplace(part->sequence, std::move(held)).second) {
      msg.bytes += bytes;
      account->second.held_bytes += bytes;
    }
    touched.push_back(held_key);
  }
  if (!parts.empty()) log::info("{} parts of long messages picked up from the state store", parts.size());
  for (const auto& key : touched) complete_if_whole(key);
}

}  // namespace proxy
