// The way back (proxy/deliver/deliveries.h):
//   operator ──deliver_sm──▶ receipt: operator id → (account, our id), id rewritten ─┐
//                            MO: destination → the account that owns the number ────┴▶
//   kept in the state store and, at the same time, sent to a receiver of the account with room;
//   the operator's deliver_sm_resp goes once either is done, so a slow customer never holds the
//   operator's window. What the customer does not acknowledge stays kept and is sent again.
#include "proxy/deliver/deliveries.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "policy/msisdn.h"
#include "proxy/deliver/receipt_id.h"
#include "proxy/log.h"
#include "proxy/state/store.h"
#include "proxy/submit/message_text.h"
#include "smpp/codec.h"
#include "smpp/text.h"

namespace proxy {

namespace status = smpp::status;

Deliveries::Deliveries(Context& ctx, Accounts& accounts, ReceiptMap& receipts)
    : ctx_(ctx), accounts_(accounts), receipts_(receipts) {}

void Deliveries::wire(OperatorAcks* acks, InternalSubmits* internal) {
  acks_ = acks;
  internal_ = internal;
}

void Deliveries::operator_delivered(const LinkRef& from, uint32_t sequence, smpp::ShortMessage sm) {
  if (sm.is_delivery_receipt()) return relay_receipt(from, sequence, std::move(sm));
  relay_mo(from, sequence, std::move(sm));
}

void Deliveries::relay_receipt(const LinkRef& from, uint32_t sequence, smpp::ShortMessage sm) {
  Counters& counters = ctx_.counters();
  ++counters.receipts_received;
  const UpstreamConfig& config = ctx_.config.upstreams[size_t(from.upstream)];
  std::string operator_id;
  if (const smpp::Tlv* t = sm.find(smpp::tag::receipted_message_id)) operator_id = t->value.substr(0, t->value.find('\0'));
  else operator_id = std::string(receipt_text_id(sm.short_message));
  auto key = canonical_operator_id(operator_id, config.receipt_id_format);
  if (!key) {
    ++counters.receipts_unmatched;
    log::warn_limited("receipt from {} with unreadable id {}", config.name, json_quoted(operator_id));
    return acks_->acknowledge(from.id, sequence, status::ESME_ROK);
  }
  uint64_t link_id = from.id;
  auto* held = new smpp::ShortMessage(std::move(sm));
  receipts_.find(config.name, *key, ctx_.now_ms(), [this, link_id, sequence, held, upstream = config.name, key = *key,
                                                    operator_id](ReceiptMap::Found found) {
    std::unique_ptr<smpp::ShortMessage> receipt(held);
    Counters& counters = ctx_.counters();
    auto reply = [&](uint32_t st) { acks_->acknowledge(link_id, sequence, st); };
    switch (found.outcome) {
      case ReceiptMap::Outcome::mapped: break;
      case ReceiptMap::Outcome::store_down: ++counters.receipts_store_down; return reply(status::ESME_RX_T_APPN);
      case ReceiptMap::Outcome::retry: return reply(status::ESME_RX_T_APPN);  // its mapping may be on its way
      case ReceiptMap::Outcome::delivered: ++counters.receipts_duplicate; return reply(status::ESME_ROK);
      case ReceiptMap::Outcome::drop:
        ++counters.receipts_unmatched;
        log::warn_limited("receipt from {} for unknown message id {} dropped after {} s of retries", upstream,
                          json_quoted(operator_id), ctx_.config.limits.unknown_receipt_retry_s);
        return reply(status::ESME_ROK);
    }
    const smpp::Tlv* state = receipt->find(smpp::tag::message_state);
    std::optional<uint8_t> message_state;
    if (state && !state->value.empty()) message_state = uint8_t(state->value[0]);
    auto d = std::make_unique<Delivery>();
    d->final_receipt = receipt_is_final(message_state, receipt->short_message);
    receipt->set(smpp::tag::receipted_message_id, found.our_id + '\0');
    receipt->short_message = replace_receipt_text_id(receipt->short_message, found.our_id);
    if (receipt->short_message.size() > 254) receipt->short_message.resize(254);
    d->account = std::move(found.account);
    d->receipt = true;
    d->key = fmt::format("r:{}:{}", found.our_id, view(ctx_.ids.next()));  // one message can have several receipts
    d->upstream_link = link_id;
    d->upstream_sequence = sequence;
    d->upstream = upstream;
    d->operator_id = key;
    smpp::encode_short_message(d->pdu, smpp::Command::deliver_sm, kSequenceSetWhenSent, *receipt);
    route_delivery(std::move(d));
  });
}

void Deliveries::relay_mo(const LinkRef& from, uint32_t sequence, smpp::ShortMessage sm) {
  ++ctx_.counters().mo_received;
  std::string number = policy::normalize_msisdn(sm.destination_addr).value_or(sm.destination_addr);
  auto owner = ctx_.config.mo_owner.find(number);
  if (owner == ctx_.config.mo_owner.end()) {
    ++ctx_.counters().mo_unroutable;
    log::warn_limited("MO to {} which no account owns", json_quoted(sm.destination_addr));
    return acks_->acknowledge(from.id, sequence, status::ESME_RINVDSTADR);
  }
  see_opt_out_word(owner->second, sm);
  auto d = std::make_unique<Delivery>();
  d->account = owner->second;
  d->key = fmt::format("m:{}", view(ctx_.ids.next()));
  d->upstream_link = from.id;
  d->upstream_sequence = sequence;
  smpp::encode_short_message(d->pdu, smpp::Command::deliver_sm, kSequenceSetWhenSent, sm);
  route_delivery(std::move(d));
}

// An MO whose whole text is a stop or start word changes the sender's subscription to the
// account at once (REGULATIONS 5), and the number gets a confirmation. The MO itself still
// reaches the customer.
void Deliveries::see_opt_out_word(const std::string& account, const smpp::ShortMessage& mo) {
  const auto& policy = ctx_.policy;
  if (!policy->enforcing() || message_text(mo, ctx_.config.text, text_) != TextResult::ok) return;
  policy::OptOutWord word = policy->opt_out_word(text_);
  auto number = policy::normalize_msisdn(mo.source_addr);
  if (word == policy::OptOutWord::none || !number) return;
  bool stop = word == policy::OptOutWord::stop;
  ++(stop ? ctx_.counters().opt_outs : ctx_.counters().opt_ins);
  const policy::Language language = policy::language_of(text_);  // the confirmation answers in it
  ctx_.store->set_opted_out(account, *number, stop, [this, account, number = *number, word, language](bool ok) {
    if (!ok) {
      log::error("could not record the opt-{} of {} from account {}: state store down",
                 word == policy::OptOutWord::stop ? "out" : "in", AuditLog::mask(number), account);
      return;
    }
    ctx_.audit.event(ctx_.wall_ms(), word == policy::OptOutWord::stop ? "opt_out" : "opt_in",
                     {{"account", account}, {"recipient", ctx_.audit.masked(number)}});
    send_confirmation(account, number, word, language);
  });
}

namespace {

// The text in data_coding 0 when every character is in the GSM 7-bit alphabet (and in what the
// SMSCs read data_coding 0 as, `text.smsc_default`): one SMS holds 160 of those against 70 UCS-2
// characters. Otherwise UCS-2. Longer than one SMS: in message_payload.
void set_confirmation_text(smpp::ShortMessage& sm, std::string_view text, const smpp::TextOptions& options) {
  std::string encoded;
  size_t characters = 0;
  bool one_sms;
  if (smpp::encode_default_alphabet(text, options, encoded, characters)) {
    sm.data_coding = 0;
    one_sms = characters <= 160;
  } else {
    sm.data_coding = 8;
    smpp::encode_ucs2(text, encoded);
    one_sms = encoded.size() <= 140;
  }
  if (one_sms) sm.short_message = std::move(encoded);
  else sm.tlvs.push_back(smpp::Tlv{smpp::tag::message_payload, std::move(encoded)});
}

}  // namespace

void Deliveries::send_confirmation(const std::string& account, const std::string& number, policy::OptOutWord word,
                                   policy::Language language) {
  std::string sender, text;
  auto acct = accounts_.find(account);
  if (acct == accounts_.end() || !ctx_.policy->confirmation(account, word, language, sender, text)) {
    log::warn_limited("account {} has no confirmation_sender: no opt-out confirmation sent", account);
    return;
  }
  smpp::ShortMessage sm;
  sm.source_addr = sender;
  sm.source_addr_ton = std::all_of(sender.begin(), sender.end(), ::isdigit) ? 0 : 5;  // alphanumeric sender
  sm.dest_addr_ton = 1;
  sm.dest_addr_npi = 1;
  sm.destination_addr = number;
  set_confirmation_text(sm, text, ctx_.config.text);
  auto submit = new_submit();
  submit->internal = true;
  submit->account = &acct->second.name;
  submit->destination = number;
  submit->sender = sender;
  submit->policy = ctx_.policy;
  smpp::encode_short_message(submit->pdu, smpp::Command::submit_sm, kSequenceSetWhenSent, sm);
  ++ctx_.counters().confirmations_sent;
  internal_->send_internal(std::move(submit));
}

// Written to the state store at once and, when a receiver of the account has room, sent to it
// at the same time.
void Deliveries::route_delivery(std::unique_ptr<Delivery> delivery) {
  auto it = accounts_.find(delivery->account);
  if (it == accounts_.end()) {  // the account left the config since the message was sent
    if (delivery->upstream_link) acks_->acknowledge(delivery->upstream_link, delivery->upstream_sequence, status::ESME_ROK);
    return;
  }
  Account& account = it->second;
  const std::string& key = delivery->key;
  if (delivery->upstream_link) operator_waits_[key] = {delivery->upstream_link, delivery->upstream_sequence, false};
  delivery->kept = true;
  const Limits& limits = ctx_.config.limits;
  ctx_.store->keep_delivery(account.name, key, delivery->pdu, limits.pending_receipts_max, limits.pending_receipts_ttl_s,
                            [this, name = account.name, key, final_receipt = delivery->final_receipt,
                             upstream = delivery->upstream, operator_id = delivery->operator_id](bool ok) {
                              if (ok && final_receipt) receipts_.delivered(upstream, operator_id);
                              delivery_kept(name, key, ok);
                            });
  if (Receiver* session = receiver_with_room(account)) {
    account.kept_in_flight.insert(key);
    session->deliver(std::move(delivery));
  }
}

// Round robin over the account's receivers with room (one backing off has none).
Receiver* Deliveries::receiver_with_room(Account& account) {
  for (size_t i = 0; i < account.receivers.size(); ++i) {
    Receiver* session = account.receivers[account.next_receiver++ % account.receivers.size()];
    if (session->has_delivery_room()) return session;
  }
  return nullptr;
}

void Deliveries::delivery_kept(const std::string& account, const std::string& key, bool ok) {
  if (ok) ++ctx_.counters().deliveries_stored;
  else ++ctx_.counters().deliveries_store_failed;
  auto a = accounts_.find(account);
  bool at_customer = a != accounts_.end() && a->second.kept_in_flight.count(key);
  if (ok) {
    if (a != accounts_.end() && !at_customer) a->second.next_kept_fetch_ms = std::min(a->second.next_kept_fetch_ms, ctx_.now_ms());
    return answer_operator(key, status::ESME_ROK);
  }
  // Not kept (store down, or the account's kept deliveries full): while a customer has it, its
  // acknowledgement decides; otherwise a temporary error, so that the operator sends it again.
  if (at_customer) {
    if (auto w = operator_waits_.find(key); w != operator_waits_.end()) w->second.keep_failed = true;
    return;
  }
  answer_operator(key, status::ESME_RX_T_APPN);
}

void Deliveries::answer_operator(const std::string& key, uint32_t st) {
  auto w = operator_waits_.find(key);
  if (w == operator_waits_.end()) return;  // answered already
  acks_->acknowledge(w->second.link, w->second.sequence, st);
  operator_waits_.erase(w);
}

// The customer has it: it leaves the store, and a final receipt's mapping goes too.
void Deliveries::delivery_handed_on(const Delivery& delivery) {
  if (delivery.kept) ctx_.store->forget_delivery(delivery.account, delivery.key);
  if (delivery.final_receipt) receipts_.delivered(delivery.upstream, delivery.operator_id);
}

void Deliveries::delivery_acknowledged(std::unique_ptr<Delivery> delivery, uint32_t) {
  if (delivery->receipt) ++ctx_.counters().receipts_relayed;
  delivery_handed_on(*delivery);
  answer_operator(delivery->key, status::ESME_ROK);
  if (auto it = accounts_.find(delivery->account); it != accounts_.end()) {
    Account& account = it->second;
    account.kept_in_flight.erase(delivery->key);
    if (account.kept_fetching) account.handed_on_while_fetching.insert(delivery->key);
    if (account.kept_more) {  // room again, and more waiting: fetch now, not at the next tick
      account.next_kept_fetch_ms = 0;
      fetch_kept_deliveries(account, ctx_.now_ms());
    }
  }
}

void Deliveries::delivery_undelivered(std::unique_ptr<Delivery> delivery, bool timed_out) {
  if (timed_out) ++ctx_.counters().deliveries_timed_out;
  auto it = accounts_.find(delivery->account);
  if (it != accounts_.end()) {
    Account& account = it->second;
    account.kept_in_flight.erase(delivery->key);
    // Kept: another receiver with room may take it now (the session backs off by itself).
    account.next_kept_fetch_ms = 0;
    account.kept_more = true;
  }
  auto w = operator_waits_.find(delivery->key);
  if (w != operator_waits_.end() && w->second.keep_failed) answer_operator(delivery->key, status::ESME_RX_T_APPN);
  // Otherwise it is kept (or being kept): fetch_kept_deliveries sends it again.
}

void Deliveries::receiver_bound(Account& account) {
  account.next_kept_fetch_ms = 0;  // a receiver bound now gets what was kept at once
  fetch_kept_deliveries(account, ctx_.now_ms());
}

void Deliveries::on_tick(uint64_t now) {
  if (ctx_.shutting_down) return;
  for (auto& [name, account] : accounts_) fetch_kept_deliveries(account, now);
}

// Kept deliveries go to the account's bound receivers: at bind, and again while any remain.
void Deliveries::fetch_kept_deliveries(Account& account, uint64_t now) {
  constexpr uint64_t kIdleFetchMs = 5000;  // another instance may have kept some for us
  if (account.kept_fetching || account.receivers.empty() || now < account.next_kept_fetch_ms || !ctx_.store->up()) return;
  int room = 0;
  for (Receiver* s : account.receivers) room += s->delivery_room();
  if (room == 0) return;
  account.kept_fetching = true;
  account.next_kept_fetch_ms = now + kIdleFetchMs;
  ctx_.store->kept_deliveries(account.name, room + int(account.kept_in_flight.size()),
                              [this, name = account.name](bool ok, std::vector<std::pair<std::string, std::string>> items) {
    auto it = accounts_.find(name);
    if (it == accounts_.end()) return;
    Account& acct = it->second;
    acct.kept_fetching = false;
    std::unordered_set<std::string> handed_on = std::move(acct.handed_on_while_fetching);
    acct.handed_on_while_fetching.clear();
    if (!ok) return;
    int sent = 0;
    for (auto& [key, pdu] : items) {
      if (acct.kept_in_flight.count(key) || handed_on.count(key)) continue;  // at a customer, or done
      Receiver* session = receiver_with_room(acct);
      if (!session) break;
      auto d = std::make_unique<Delivery>();
      d->account = name;
      d->key = key;
      d->pdu = std::move(pdu);
      d->kept = true;
      d->receipt = !key.starts_with("m:");
      acct.kept_in_flight.insert(key);
      session->deliver(std::move(d));
      ++sent;
    }
    acct.kept_more = sent > 0;  // more may wait: fetched again as these are acknowledged, or next tick
    if (sent) acct.next_kept_fetch_ms = ctx_.now_ms();
  });
}

}  // namespace proxy
