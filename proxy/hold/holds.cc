// Held messages (proxy/hold/holds.h):
//   hold:    decided inside its window with `hold` ─▶ record in the store (within the account's
//            bound) ─▶ the customer's ESME_ROK with our id
//   release: every second, per account, up to its pace: due records leased to this instance ─▶
//            dropped? expired? ─▶ decided again now (rules, review, then opt-out, awareness cap,
//            balance in the store) ─▶ relayed in order, or a failure receipt ─▶ record gone once
//            the outcome is final (a crash in between releases it again, never loses it)
#include "proxy/hold/holds.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "policy/saudi_time.h"
#include "proxy/log.h"
#include "proxy/state/store.h"
#include "proxy/submit/message_text.h"
#include "smpp/pdu_view.h"
#include "smpp/protocol.h"

namespace proxy {

namespace {
constexpr uint8_t kRejected = 8, kExpired = 3;
constexpr uint64_t kPollMs = 1000;
constexpr uint64_t kCountMs = 5000;  // the NOC's gauge of held messages
constexpr int kUnlimitedPerSecond = 100;  // an account without a throughput
// A record outlives its release by this much in the store, in case no proxy runs to release it.
constexpr int64_t kHeldTtlMarginS = 7 * 86400;
constexpr int64_t kOpenEndedTtlS = 31 * 86400;  // a hold until released by someone (review)
}  // namespace

Holds::Holds(Context& ctx, Accounts& accounts) : ctx_(ctx), accounts_(accounts) {}

int Holds::release_per_second(int throughput) {
  if (throughput <= 0) return kUnlimitedPerSecond;
  return std::max(1, throughput / 2);
}

std::string Holds::key_of(std::string_view account, std::string_view id) const { return fmt::format("{}\n{}", account, id); }

void Holds::hold(HeldRecord record, Held done) {
  const int64_t now_s = ctx_.wall_ms() / 1000;
  record.held_at = now_s;
  // A review's hold lasts until its campaign expires unreviewed (review.pending_hours), and a margin.
  const int64_t open_ended = std::max<int64_t>(kOpenEndedTtlS, int64_t(ctx_.config.review.pending_hours) * 3600 + kHeldTtlMarginS);
  int64_t ttl = record.release_at ? std::max<int64_t>(record.release_at - now_s, 0) + kHeldTtlMarginS : open_ended;
  ctx_.store->hold_message(record, ctx_.limits().held_messages_max, ctx_.limits().held_bytes_max, int(ttl),
                           [this, record, done = std::move(done)](bool ok, bool held) {
                             if (ok && held) {
                               ++ctx_.counters().held;
                               ++held_counts_[record.account];  // polled from now on, before the next count
                               audit(record, "hold", record.reason == "quiet" ? "" : record.reason, 0);
                             } else if (ok) {
                               ++ctx_.counters().held_over_bound;
                             } else {
                               ++ctx_.counters().state_degraded;
                             }
                             done(ok, held);
                           });
}

void Holds::hold_for_review(HeldRecord record, std::string campaign, Held done) {
  record.reason = "review";
  record.campaign = std::move(campaign);
  record.release_at = 0;
  hold(std::move(record), std::move(done));
}

void Holds::release_campaign(std::string_view account, std::string_view campaign, int64_t at_s, std::function<void(bool)> done) {
  ctx_.store->release_held(account, campaign, "", at_s, std::move(done));
}

void Holds::campaign_decided(const std::string& account, const std::string& campaign) {
  release_campaign(account, campaign, ctx_.wall_ms() / 1000, [this, account, campaign](bool ok) {
    if (ok) campaigns_to_release_.erase({account, campaign});
    else campaigns_to_release_.insert({account, campaign});
  });
}

void Holds::drop_campaign(std::string_view account, std::string_view campaign, std::function<void(bool)> done) {
  ctx_.store->drop_held(account, campaign, "", std::move(done));
}

int64_t Holds::held_now() const {
  int64_t n = 0;
  for (const auto& [account, count] : held_counts_) n += count;
  return n;
}

void Holds::on_tick(uint64_t now_ms, bool renew_leases) {
  if (renew_leases)
    for (const auto& [key, f] : in_flight_) ctx_.store->renew_hold_lease(f.account, f.id, ctx_.owner);
  if (ctx_.shutting_down || ctx_.customers_leaving || !ctx_.store->up() || now_ms - last_poll_ms_ < kPollMs) return;
  for (const auto& [account, campaign] : std::set(campaigns_to_release_)) campaign_decided(account, campaign);
  if (now_ms - last_count_ms_ >= kCountMs) {
    last_count_ms_ = now_ms;
    for (const auto& entry : accounts_)  // not a structured binding: clang 14 cannot capture one
      ctx_.store->held_count(entry.first, [this, name = entry.first](bool ok, int64_t n) {
        if (ok) held_counts_[name] = n;
      });
  }
  if (ready_ && !ready_()) return;
  last_poll_ms_ = now_ms;
  // Only accounts with something held (as last counted, or held here since): most accounts
  // never hold, and a release is due at a window's edge, hours after the hold.
  for (const auto& [name, account] : accounts_) {
    auto counted = held_counts_.find(name);
    if (account.config && (counted == held_counts_.end() || counted->second > 0)) poll(name);
  }
}

// Claims what is due, up to the account's pace less what it is still releasing.
void Holds::poll(const std::string& account) {
  if (polling_[account]) return;
  const int pace = release_per_second(ctx_.policy->throughput(account));
  if (in_flight_for(account) >= pace) return;
  polling_[account] = true;
  // Asks for a whole second's worth: the claim hands back this instance's own messages in flight
  // too (their lease is ours), which must not take the places of new ones.
  ctx_.store->due_held(account, ctx_.wall_ms() / 1000, pace, ctx_.owner, [this, account, pace](bool ok, std::vector<HeldRecord> due) {
    polling_[account] = false;
    if (!ok) return;
    int busy = in_flight_for(account);
    for (auto& record : due) {
      if (busy >= pace) break;  // the rest is claimed again on a later second (or its lease lapses)
      if (in_flight_.count(key_of(record.account, record.id))) continue;
      release(std::move(record));
      ++busy;
    }
  });
}

int Holds::in_flight_for(const std::string& account) const {
  int n = 0;
  for (const auto& [key, f] : in_flight_)
    if (f.account == account) ++n;
  return n;
}

void Holds::release(HeldRecord record) {
  const int64_t now_s = ctx_.wall_ms() / 1000;
  InFlight& f = in_flight_[key_of(record.account, record.id)];
  f.account = record.account;
  f.id = record.id;
  f.parts_left = f.parts = int(record.parts.size());
  if (record.dropped) {
    ++ctx_.counters().dropped;
    return finish(record, "dropped", smpp::status::ESME_ROK, "REJECTD", kRejected);
  }
  if (record.expires != 0 && record.expires <= now_s) {
    ++ctx_.counters().expired;
    return finish(record, "expired", smpp::status::ESME_ROK, "EXPIRED", kExpired);
  }
  // The whole text, from the parts as the customer sent them.
  WholeText whole(ctx_.config.text);
  for (const auto& p : record.parts) whole.add(p.pdu);
  const std::string& text = whole.text;
  const bool inspectable = whole.inspectable;
  const auto& table = ctx_.policy;
  policy::Verdict verdict;
  if (table->enforcing()) {
    policy::Message message{record.account, record.source, record.destination, text, inspectable, int(record.parts.size())};
    verdict = table->decide(message, policy::Context{now_s});
    // A review's wait may end inside quiet hours: the customer sent it in the open window, so it
    // waits for the next one even where the account rejects at night.
    const bool window_closed = verdict.rule == policy::Rule::time_quiet_hours || verdict.rule == policy::Rule::time_ramadan_hours;
    if (verdict.outcome == policy::Outcome::reject && window_closed && record.reason == "review") {
      verdict.outcome = policy::Outcome::hold;
      verdict.hold_until_s = table->window_opens(now_s);
    }
    if (verdict.outcome == policy::Outcome::reject) {
      ++ctx_.counters().released_refused;
      ctx_.stats.decided(verdict, nullptr);
      audit(record, "release refused", policy::rule_id(verdict.rule), verdict.status);
      return finish(record, nullptr, verdict.status, "REJECTD", kRejected);
    }
  }
  if (review_) {
    const Review review = review_(record, text, verdict);
    switch (review.outcome) {
      case Review::Outcome::pass: break;
      case Review::Outcome::hold: return reschedule(record, 0);
      case Review::Outcome::reject:
        ++ctx_.counters().released_refused;
        audit(record, "release refused", policy::rule_id(review.rule), review.status);
        return finish(record, nullptr, review.status, review.stat, review.stat == "EXPIRED" ? kExpired : kRejected);
    }
  }
  // After the review, as at submit: a rejected campaign's receipts do not wait for the morning.
  if (verdict.held()) return reschedule(record, verdict.hold_until_s);  // released inside the window (ops, an approval)
  policy::StateNeeds needs;
  if (table->enforcing()) {
    policy::Message message{record.account, record.source, record.destination, text, inspectable, int(record.parts.size())};
    needs = table->state_needs(message, verdict);
  }
  if (!needs.any()) return relay(std::move(record), verdict, false);
  // Counted once, now: the opt-out list, the awareness cap and the balance as they are at release.
  StateReservation r;
  r.account = record.account;
  r.sender = record.source;
  r.number = record.destination;
  if (needs.awareness) r.number_hash = number_hash(ctx_.config, record.destination);
  r.saudi_day = policy::saudi_time(now_s).day;
  r.parts = int(record.parts.size());
  r.needs = needs;
  ctx_.store->reserve(r, [this, record = std::move(record), verdict, needs](bool ok, policy::Rule failed) mutable {
    const std::string key = key_of(record.account, record.id);
    if (!ok || failed == policy::Rule::account_throughput) {
      in_flight_.erase(key);  // tried again on a later poll: the lease lapses or is ours
      return;
    }
    if (failed != policy::Rule::none && ctx_.policy->action(failed) == policy::Action::reject) {
      ++ctx_.counters().released_refused;
      policy::Verdict refused = verdict;
      refused.outcome = policy::Outcome::reject;
      refused.rule = failed;
      ctx_.stats.decided(refused, nullptr);
      audit(record, "release refused", policy::rule_id(failed), ctx_.policy->status(failed));
      return finish(record, nullptr, ctx_.policy->status(failed), "REJECTD", kRejected);
    }
    relay(std::move(record), verdict, needs.charge);
  });
}

void Holds::relay(HeldRecord record, const policy::Verdict& verdict, bool charged) {
  ++ctx_.counters().released;
  in_flight_[key_of(record.account, record.id)].relayed = true;
  audit(record, "release", policy::rule_id(verdict.rule), 0);
  relay_->relay_held(record, verdict, charged);
}

bool Holds::settled(std::string_view account, std::string_view id, uint32_t status) {
  auto it = in_flight_.find(key_of(account, id));
  if (it == in_flight_.end()) return false;
  namespace st = smpp::status;
  const bool temporary = status == st::ESME_RSYSERR || status == st::ESME_RTHROTTLED || status == st::ESME_RMSGQFUL;
  // A long message's parts may have reached the operator already: only a whole one goes again.
  if (temporary && it->second.parts == 1) {
    in_flight_.erase(it);  // its lease lapses; this or another instance releases it again
    return true;
  }
  if (--it->second.parts_left > 0) return false;
  ctx_.store->held_done(account, id);
  in_flight_.erase(it);
  return false;
}

// A final outcome without a relay: the failure receipts (for the parts that asked), the record gone.
void Holds::finish(const HeldRecord& record, const char* outcome, uint32_t status, std::string_view stat, uint8_t state) {
  if (outcome) audit(record, outcome, "", status);
  relay_->held_failure_receipts(record, status, stat, state);
  ctx_.store->held_done(record.account, record.id);
  in_flight_.erase(key_of(record.account, record.id));
}

// Still inside a window (released early by ops), or held again by review: due again later.
void Holds::reschedule(const HeldRecord& record, int64_t at_s) {
  audit(record, "hold again", "", 0);
  ctx_.store->release_held(record.account, "", record.id, at_s, [](bool) {});
  in_flight_.erase(key_of(record.account, record.id));
}

void Holds::audit(const HeldRecord& record, std::string_view what, std::string_view rule, uint32_t status) {
  if (!ctx_.audit.enabled()) return;
  nlohmann::ordered_json fields = {{"account", record.account}, {"id", record.id}, {"reason", record.reason},
                                   {"sender", record.source}, {"recipient", ctx_.audit.masked(record.destination)},
                                   {"parts", record.parts.size()}};
  if (!record.campaign.empty()) fields["campaign"] = record.campaign;
  if (what == "hold") fields["release_at"] = record.release_at ? policy::saudi_iso(record.release_at) : "when released";
  if (!rule.empty()) fields["rule"] = rule;
  if (status) fields["status"] = status;
  ctx_.audit.event(ctx_.wall_ms(), what, fields);
}

}  // namespace proxy
