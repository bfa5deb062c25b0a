// Held messages (quiet hours now, campaign review later): kept in the state store before the
// customer's ESME_ROK, released when due — decided again at the release instant, relayed at the
// account's pace, or given a failure receipt — exactly once across instances (leases) and restarts.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <string_view>

#include "policy/message.h"
#include "proxy/context.h"
#include "proxy/customer/account.h"
#include "proxy/state/held_record.h"

namespace proxy {

// What the release asks of the submit stage (proxy/submit/submits.h implements it).
class HeldRelay {
 public:
  virtual ~HeldRelay() = default;
  // Relays every part in order on one operator link, answered early (a failure from the operator
  // becomes a failure receipt); each part's final answer comes back through Holds::settled.
  virtual void relay_held(const HeldRecord& record, const policy::Verdict& verdict, bool charged) = 0;
  virtual void held_failure_receipts(const HeldRecord& record, uint32_t status, std::string_view stat, uint8_t state) = 0;
};

class Holds {
 public:
  Holds(Context& ctx, Accounts& accounts);
  void wire(HeldRelay* relay) { relay_ = relay; }
  // Whether releases may start now (the hub: every operator has a bound link, so that a message
  // released right after a start is not refused for want of a link).
  void set_ready(std::function<bool()> ready) { ready_ = std::move(ready); }

  // At release a message is asked about again by campaign review (proxy/review/): a campaign
  // still pending holds it, a rejected or expired one refuses it with `status` and a failure
  // receipt of `stat`. Without a check everything passes.
  struct Review {
    enum class Outcome : uint8_t { pass, hold, reject } outcome = Outcome::pass;
    policy::Rule rule = policy::Rule::none;
    uint32_t status = 0;
    std::string_view stat;  // REJECTD or EXPIRED
  };
  using ReviewCheck = std::function<Review(const HeldRecord& record, std::string_view text, const policy::Verdict& verdict)>;
  void set_review(ReviewCheck check) { review_ = std::move(check); }

  // Keeps a message until `record.release_at` (reason quiet): `done(ok, held)`, ok false when the
  // store could not answer, held false when the account's bound is reached.
  using Held = std::function<void(bool ok, bool held)>;
  void hold(HeldRecord record, Held done);
  // Section 2: held for review of `campaign`, until released by someone (release_at 0).
  void hold_for_review(HeldRecord record, std::string campaign, Held done);
  // Makes all of a campaign's held messages due at `at_s` (an approval).
  void release_campaign(std::string_view account, std::string_view campaign, int64_t at_s, std::function<void(bool ok)> done);
  // A campaign was approved, rejected or expired: its held messages are due now, and their release
  // asks the review again (relayed, or refused with failure receipts). Tried again on later ticks
  // while the store cannot answer: a message held for review must never wait for nobody.
  void campaign_decided(const std::string& account, const std::string& campaign);
  // Drops them (a rejection): each gets a REJECTD receipt, if asked, from the releasing instance.
  void drop_campaign(std::string_view account, std::string_view campaign, std::function<void(bool ok)> done);

  // A released message's part has its answer; the record goes once all parts have a final one.
  // True when the message will be released again instead (a one-part message the operator side
  // answered with a temporary error, e.g. at shutdown): then no failure receipt.
  bool settled(std::string_view account, std::string_view id, uint32_t status);
  void on_tick(uint64_t now_ms, bool renew_leases);
  size_t releasing() const { return in_flight_.size(); }
  int64_t held_now() const;  // every account's held messages, as last counted (every 5 s)

  // At most this many per second per account, as a share of its throughput: the rest is left
  // for live traffic (docs/policy.md, Held messages).
  static int release_per_second(int throughput);

 private:
  void poll(const std::string& account);
  int in_flight_for(const std::string& account) const;
  void release(HeldRecord record);
  void relay(HeldRecord record, const policy::Verdict& verdict, bool charged);
  void finish(const HeldRecord& record, const char* outcome, uint32_t status, std::string_view stat, uint8_t state);
  void reschedule(const HeldRecord& record, int64_t at_s);
  void audit(const HeldRecord& record, std::string_view what, std::string_view rule, uint32_t status);
  std::string key_of(std::string_view account, std::string_view id) const;

  Context& ctx_;
  Accounts& accounts_;
  HeldRelay* relay_ = nullptr;
  ReviewCheck review_;
  std::function<bool()> ready_;
  struct InFlight {
    std::string account, id;
    int parts_left = 0, parts = 0;
    bool relayed = false;  // handed to the operator side (else being decided)
  };
  std::map<std::string, InFlight> in_flight_;  // by account + id
  std::map<std::string, bool> polling_;        // an account's due_held call on its way
  std::map<std::string, int64_t> held_counts_;  // by account, from the store
  std::set<std::pair<std::string, std::string>> campaigns_to_release_;  // decided while the store failed
  uint64_t last_poll_ms_ = 0, last_count_ms_ = 0;
};

}  // namespace proxy
