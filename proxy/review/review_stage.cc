// Campaign review (proxy/review/review_stage.h): the decided table, the stage's decision, the version poll, the expiry.
#include "proxy/review/review_stage.h"

#include <algorithm>
#include <charconv>
#include <memory>

#include "proxy/log.h"
#include "proxy/state/store.h"

namespace proxy {

namespace {
constexpr std::string_view kStateNames[] = {"pending", "approved", "rejected", "expired"};
constexpr uint64_t kPollMs = 1000;     // as the ported numbers' version
constexpr uint64_t kExpiryMs = 30000;  // pending_hours is hours: a check every half minute is plenty
}  // namespace

std::string_view name(CampaignState s) { return kStateNames[size_t(s)]; }

std::optional<CampaignState> parse_campaign_state(std::string_view s) {
  for (size_t i = 0; i < std::size(kStateNames); ++i)
    if (kStateNames[i] == s) return CampaignState(i);
  return std::nullopt;
}

// ---- the decided table ----

CampaignState DecidedCampaigns::state(std::string_view account, std::string_view campaign, int64_t now_s) const {
  auto a = accounts_.find(account);
  if (a == accounts_.end()) return CampaignState::pending;
  auto c = a->second.find(campaign);
  if (c == a->second.end() || c->second.until_s <= now_s) return CampaignState::pending;
  return c->second.state;
}

void DecidedCampaigns::replace(const std::string& account, std::map<std::string, Entry, std::less<>> entries,
                               std::vector<Change>& changes) {
  auto& before = accounts_[account];
  for (const auto& [id, entry] : entries) {
    auto was = before.find(id);
    if (was == before.end() || was->second.state != entry.state) changes.push_back({account, id, entry.state});
  }
  before = std::move(entries);
}

void DecidedCampaigns::keep_only(const std::vector<std::string>& keep) {
  for (auto it = accounts_.begin(); it != accounts_.end();)
    it = std::find(keep.begin(), keep.end(), it->first) == keep.end() ? accounts_.erase(it) : std::next(it);
}

void DecidedCampaigns::prune(int64_t now_s) {
  for (auto& [account, campaigns] : accounts_)
    std::erase_if(campaigns, [now_s](const auto& c) { return c.second.until_s <= now_s; });
}

size_t DecidedCampaigns::size() const {
  size_t n = 0;
  for (const auto& [account, campaigns] : accounts_) n += campaigns.size();
  return n;
}

bool DecidedCampaigns::parse(std::string_view member, std::string_view until, std::string& id, Entry& entry) {
  size_t space = member.find(' ');
  if (space == std::string_view::npos) return false;
  auto state = parse_campaign_state(member.substr(space + 1));
  if (!state || *state == CampaignState::pending) return false;
  // Redis writes a sorted set's scores as doubles: "1767225600" or "1.7672256e+09" alike.
  double value = 0;
  auto [end, error] = std::from_chars(until.data(), until.data() + until.size(), value);
  if (error != std::errc() || end != until.data() + until.size()) return false;
  id.assign(member.substr(0, space));
  entry = Entry{*state, int64_t(value)};
  return true;
}

// ---- the stage ----

ReviewStage::Decision ReviewStage::decide(std::string_view account, std::string_view sender, std::string_view text,
                                          policy::MessageClass message_class) {
  Decision d;
  if (!ctx_.policy->reviews(account, message_class)) return d;
  templater_.make(account, sender, text, last_);
  return decided(account, last_.id);
}

ReviewStage::Decision ReviewStage::decide_surge(std::string_view account, std::string_view sender, std::string_view text) {
  templater_.make(account, sender, text, last_);
  return decided(account, last_.id + std::string(kSurgeSuffix));
}

ReviewStage::Decision ReviewStage::decided(std::string_view account, std::string_view campaign) {
  Decision d;
  d.campaign = campaign;
  switch (decided_.state(account, campaign, now_s())) {
    case CampaignState::approved: return d;
    case CampaignState::pending: d.outcome = Outcome::hold; return d;
    case CampaignState::rejected:
      d.rule = policy::Rule::campaign_rejected;
      d.stat = "REJECTD";
      break;
    case CampaignState::expired:
      d.rule = policy::Rule::campaign_expired;
      d.stat = "EXPIRED";
      break;
  }
  d.outcome = Outcome::reject;
  d.status = ctx_.policy->status(d.rule);
  return d;
}

void ReviewStage::note(std::string_view account, std::string_view sender, std::string_view text, std::string_view campaign) {
  if (!ctx_.store->keeps_campaigns()) return;
  const bool surge = campaign.ends_with(kSurgeSuffix);
  if (last_.id != campaign.substr(0, campaign.size() - (surge ? kSurgeSuffix.size() : 0)))
    templater_.make(account, sender, text, last_);
  // A surge's campaign says so where ops read it: in its template.
  if (surge) surge_template_.assign("[volume surge] ").append(last_.template_text);
  StateStore::CampaignNote n;
  n.account = account;
  n.campaign = campaign;
  n.sender = sender;
  n.template_text = surge ? surge_template_ : last_.template_text;
  n.example = text;
  n.links = &last_.links;
  n.now_s = now_s();
  n.pending_s = int64_t(ctx_.config.review.pending_hours) * 3600;
  ctx_.store->note_campaign(n);
}

void ReviewStage::on_tick(uint64_t now_ms) {
  if (!ctx_.store->keeps_campaigns() || ctx_.shutting_down) return;
  if (now_ms >= next_poll_ms_) {
    next_poll_ms_ = now_ms + kPollMs;
    decided_.prune(now_s());
    poll_version();
  }
  if (now_ms >= next_expiry_ms_ && ctx_.store->up()) {
    next_expiry_ms_ = now_ms + kExpiryMs;
    expire_pending();
  }
}

std::vector<std::string> ReviewStage::reviewed_accounts() const {
  std::vector<std::string> names;
  for (const auto& [name, account] : ctx_.config.accounts)
    if (ctx_.policy->reviews(name, policy::MessageClass::promotional) || (account && account->volume.on_surge == OnSurge::hold))
      names.push_back(name);
  return names;
}

void ReviewStage::poll_version() {
  if (polling_) return;
  polling_ = true;
  // A reload may have put an account under review: the table is read again, whatever the version.
  if (ctx_.policy->version() != policy_version_) {
    policy_version_ = ctx_.policy->version();
    version_.reset();
  }
  ctx_.store->review_version([this](bool ok, std::optional<std::string> version) {
    // No version yet (no decision ever) reads as "0"; the first poll reads the table whatever it says.
    std::string now = version.value_or("0");
    if (!ok || now == version_) {
      polling_ = false;
      return;
    }
    reload(std::move(now));
  });
}

// Every reviewed account's decided campaigns, read again; the version is taken only once all came.
void ReviewStage::reload(std::string version) {
  std::vector<std::string> accounts = reviewed_accounts();
  decided_.keep_only(accounts);
  if (accounts.empty()) {
    version_ = version;
    polling_ = false;
    return;
  }
  struct Pass {
    size_t left;
    bool ok = true;
    std::vector<DecidedCampaigns::Change> changes;
  };
  auto pass = std::make_shared<Pass>(Pass{accounts.size(), true, {}});
  for (const std::string& account : accounts)
    ctx_.store->decided_campaigns(account, now_s(), [this, account, pass, version](bool ok, std::vector<std::pair<std::string, std::string>> items) {
      if (!ok) pass->ok = false;
      else {
        std::map<std::string, DecidedCampaigns::Entry, std::less<>> entries;
        std::string id;
        DecidedCampaigns::Entry entry;
        for (const auto& [member, until] : items)
          if (DecidedCampaigns::parse(member, until, id, entry)) entries[id] = entry;
        decided_.replace(account, std::move(entries), pass->changes);
      }
      if (--pass->left > 0) return;
      polling_ = false;
      if (pass->ok) version_ = version;
      for (const auto& c : pass->changes) {
        log::info("campaign {} of account {} is {}", c.campaign, json_quoted(c.account), name(c.state));
        if (on_decided) on_decided(c.account, c.campaign, c.state);
      }
    });
}

void ReviewStage::expire_pending() {
  const int64_t now = now_s(), pending_s = int64_t(ctx_.config.review.pending_hours) * 3600;
  ctx_.store->expire_campaigns(ctx_.owner, reviewed_accounts(), now, now - pending_s, now + pending_s,
                               [this](bool ok, std::vector<std::pair<std::string, std::string>> expired) {
                                 if (!ok) {
                                   log::warn_limited("campaign review: the expiry of pending campaigns failed (store down); retried");
                                   next_expiry_ms_ = 0;  // on the next tick the store is up again
                                   return;
                                 }
                                 for (const auto& [account, id] : expired)
                                   log::info("campaign {} of account {} expired unreviewed", id, json_quoted(account));
                               });
}

}  // namespace proxy
