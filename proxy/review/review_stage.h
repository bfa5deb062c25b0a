// Campaign review: whether a promotional message passes, waits for its campaign's review, or is refused.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/campaign.h"
#include "policy/message.h"
#include "proxy/context.h"

namespace proxy {

enum class CampaignState : uint8_t { pending, approved, rejected, expired };
std::string_view name(CampaignState s);
std::optional<CampaignState> parse_campaign_state(std::string_view s);

// The campaigns decided (approved, rejected, expired), as this instance last read them from the
// store: a message's campaign is looked up here, with no round trip. Bounded by time: every
// decision lapses (approved and rejected after review.approval_hours, expired after pending_hours)
// and a lapsed one is gone.
class DecidedCampaigns {
 public:
  struct Entry {
    CampaignState state = CampaignState::pending;
    int64_t until_s = 0;  // the decision lapses then
  };
  struct Change {
    std::string account, campaign;
    CampaignState state;
  };

  // pending unless decided and not lapsed at now_s.
  CampaignState state(std::string_view account, std::string_view campaign, int64_t now_s) const;
  // Puts `entries` in place of the account's; each campaign that is newly decided, or decided
  // otherwise than before, is appended to `changes`.
  void replace(const std::string& account, std::map<std::string, Entry, std::less<>> entries, std::vector<Change>& changes);
  // Forgets the accounts not in `keep` (gone from the configuration, or no longer reviewed).
  void keep_only(const std::vector<std::string>& keep);
  void prune(int64_t now_s);
  size_t size() const;

  // "ID STATE" and its until (as the store lists them) into an entry; false for anything else.
  static bool parse(std::string_view member, std::string_view until, std::string& id, Entry& entry);

 private:
  std::map<std::string, std::map<std::string, Entry, std::less<>>, std::less<>> accounts_;
};

// The stage. decide() is synchronous (the decided table); note() writes to the store and is not
// waited for; on_tick() polls the decisions' version and, on one instance at a time, expires the
// pending campaigns older than review.pending_hours.
class ReviewStage {
 public:
  enum class Outcome : uint8_t { pass, hold, reject };
  struct Decision {
    Outcome outcome = Outcome::pass;
    std::string campaign;              // the id, unless passed without review
    policy::Rule rule = policy::Rule::none;  // campaign.rejected or campaign.expired
    uint32_t status = 0;               // the rule's status, for a refusal
    std::string_view stat;             // "REJECTD" or "EXPIRED": the failure receipt's stat
  };

  explicit ReviewStage(Context& ctx) : ctx_(ctx) {}

  Decision decide(std::string_view account, std::string_view sender, std::string_view text, policy::MessageClass message_class);
  // A message of an account in a volume surge with `on_surge: hold` (docs/policy.md, Volume
  // monitoring): whatever its class, it waits for a review of its own campaign marked as the
  // surge's (the text's campaign id + kSurgeSuffix), so that an approval of the campaign itself
  // does not let a stolen login's flood through.
  Decision decide_surge(std::string_view account, std::string_view sender, std::string_view text);
  static constexpr std::string_view kSurgeSuffix = "-surge";
  // What `campaign`'s review says now (a held message, at its release): pass once approved, hold
  // while pending, reject when rejected or expired.
  Decision decided(std::string_view account, std::string_view campaign);
  // A held message of `campaign` (as decide() named it for this text): into the campaign book.
  void note(std::string_view account, std::string_view sender, std::string_view text, std::string_view campaign);
  void on_tick(uint64_t now_ms);

  // Called on this instance, once, when it sees a campaign become approved, rejected or expired
  // (and for every decision found at start-up): the lead wires the held messages' release here.
  std::function<void(const std::string& account, const std::string& campaign, CampaignState state)> on_decided;

  const DecidedCampaigns& decided() const { return decided_; }

 private:
  int64_t now_s() const { return ctx_.wall_ms() / 1000; }
  std::vector<std::string> reviewed_accounts() const;
  void poll_version();
  void reload(std::string version);
  void expire_pending();

  Context& ctx_;
  policy::CampaignTemplater templater_;
  policy::Campaign last_;  // the last decide()'s campaign, for note()
  std::string surge_template_;
  DecidedCampaigns decided_;
  std::optional<std::string> version_;  // the version the table was read at; none before the first read
  std::string policy_version_;           // the policy it was read for (which accounts are reviewed)
  bool polling_ = false;
  uint64_t next_poll_ms_ = 0, next_expiry_ms_ = 0;
};

}  // namespace proxy
