// `hajib review`: the campaign book (proxy/review/): list and show campaigns, approve or reject one, audited.
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include <chrono>

#include "policy/saudi_time.h"
#include "proxy/ops/common.h"
#include "proxy/state/keys.h"
#include "proxy/state/lua_scripts.h"
#include "proxy/state/redis_sync.h"

namespace proxy {

namespace {

struct ReviewArgs {
  std::string config, account, id, by, reason;
  bool json = false;
};

std::string text_of(const redisReply* r) { return r && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : ""; }

// A campaign's record and links as JSON: what a reviewer needs to judge it.
nlohmann::ordered_json read_campaign(SyncRedis& redis, const std::string& account, const std::string& id, std::string& error) {
  std::string record = keys::campaign_record(account, id), links = keys::campaign_links(account, id);
  auto fields = redis.command(error, "HGETALL %s", record.c_str());
  if (!fields || fields->elements == 0) return nullptr;
  std::map<std::string, std::string> f;
  for (size_t i = 0; i + 1 < fields->elements; i += 2) f[text_of(fields->element[i])] = text_of(fields->element[i + 1]);
  auto members = redis.command(error, "SMEMBERS %s", links.c_str());
  auto found = nlohmann::ordered_json::array();
  if (members)
    for (size_t i = 0; i < members->elements; ++i) found.push_back(text_of(members->element[i]));
  auto when = [&](const std::string& key) -> nlohmann::ordered_json {
    if (f[key].empty()) return nullptr;
    return policy::saudi_iso(std::atoll(f[key].c_str()));
  };
  nlohmann::ordered_json c = {{"id", id},          {"account", account},         {"sender", f["sender"]},
                              {"template", f["template"]}, {"example", f["example"]}, {"links", found},
                              {"first_seen", when("first_seen")}, {"held", std::atoll(f["held"].c_str())},
                              {"state", f["state"]}};
  if (f["state"] != "pending") {
    c["by"] = f["by"];
    c["at"] = when("at");
    c["reason"] = f["reason"];
    c["until"] = when("until");
  }
  return c;
}

// The account whose book holds `id`: campaign ids are per account, and ops name only the id.
std::optional<std::string> account_of(SyncRedis& redis, const Config& config, const std::string& id, std::string& error) {
  for (const auto& [name, account] : config.accounts) {
    std::string record = keys::campaign_record(name, id);
    auto r = redis.command(error, "EXISTS %s", record.c_str());
    if (!r) return std::nullopt;
    if (r->integer == 1) return name;
  }
  return std::nullopt;
}

void print_campaign(const nlohmann::ordered_json& c) {
  fmt::print("campaign {}  account {}  sender {}  {}\n", c["id"].get<std::string>(), c["account"].get<std::string>(),
             c["sender"].get<std::string>(), c["state"].get<std::string>());
  fmt::print("  template:   {}\n  example:    {}\n", c["template"].get<std::string>(), c["example"].get<std::string>());
  for (const auto& link : c["links"]) fmt::print("  link:       {}\n", link.get<std::string>());
  fmt::print("  first seen: {}  held: {}\n", c["first_seen"].is_null() ? "-" : c["first_seen"].get<std::string>(), c["held"].get<long long>());
  if (c.contains("by"))
    fmt::print("  {} by {} at {}{}\n", c["state"].get<std::string>(), c["by"].get<std::string>(),
               c["at"].is_null() ? "-" : c["at"].get<std::string>(),
               c["reason"].get<std::string>().empty() ? "" : ": " + c["reason"].get<std::string>());
}

int fail(const std::string& message) { return fmt::print(stderr, "hajib review: {}\n", message), 1; }

int list(const ReviewArgs& a) {
  auto config = state_config(a.config, a.account.empty() ? nullptr : &a.account, "review");
  if (!config) return 1;
  SyncRedis redis;
  std::string error;
  if (!redis.connect(*config, error)) return fail(error);
  auto campaigns = nlohmann::ordered_json::array();
  for (const auto& [name, account] : config->accounts) {
    if (!a.account.empty() && name != a.account) continue;
    std::string pending = keys::campaigns_pending(name);
    auto ids = redis.command(error, "ZRANGE %s 0 -1", pending.c_str());
    if (!ids) return fail(error);
    for (size_t i = 0; i < ids->elements; ++i) {
      auto c = read_campaign(redis, name, text_of(ids->element[i]), error);
      if (!c.is_null() && c["state"] == "pending") campaigns.push_back(std::move(c));
    }
  }
  if (a.json) return fmt::print("{}\n", nlohmann::ordered_json{{"campaigns", campaigns}}.dump()), 0;
  if (campaigns.empty()) fmt::print("no campaign is waiting for review\n");
  for (const auto& c : campaigns) print_campaign(c);
  return 0;
}

int show(const ReviewArgs& a) {
  auto config = state_config(a.config, nullptr, "review");
  if (!config) return 1;
  SyncRedis redis;
  std::string error;
  if (!redis.connect(*config, error)) return fail(error);
  auto account = account_of(redis, *config, a.id, error);
  if (!account) return fail(error.empty() ? fmt::format("no campaign {} (it may have lapsed)", a.id) : error);
  auto c = read_campaign(redis, *account, a.id, error);
  if (c.is_null()) return fail(fmt::format("no campaign {}", a.id));
  if (a.json) return fmt::print("{}\n", c.dump()), 0;
  print_campaign(c);
  return 0;
}

// approve or reject: the record, the indexes and the audit line, then the version the proxies poll.
int decide(const ReviewArgs& a, const char* state) {
  auto config = state_config(a.config, nullptr, "review");
  if (!config) return 1;
  OpsAudit audit(*config);
  if (!audit.open("review")) return 1;
  SyncRedis redis;
  std::string error;
  if (!redis.connect(*config, error)) return fail(error);
  auto account = account_of(redis, *config, a.id, error);
  if (!account) return fail(error.empty() ? fmt::format("no campaign {} (it may have lapsed); nothing changed", a.id) : error);
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const int64_t until = now + int64_t(config->review.approval_hours) * 3600;
  std::string record = keys::campaign_record(*account, a.id), links = keys::campaign_links(*account, a.id),
              pending = keys::campaigns_pending(*account), decided = keys::campaigns_decided(*account),
              at = std::to_string(now), lapses = std::to_string(until);
  auto r = redis.command(error, "EVAL %s 4 %s %s %s %s %s %s %s %s %s %s", lua::campaign_decide, record.c_str(), links.c_str(),
                         pending.c_str(), decided.c_str(), a.id.c_str(), state, a.by.c_str(), at.c_str(), a.reason.c_str(),
                         lapses.c_str());
  if (!r) return fail(error);
  if (r->type != REDIS_REPLY_STRING) return fail(fmt::format("no campaign {} (it lapsed meanwhile); nothing changed", a.id));
  std::string before = text_of(r.get());
  auto version = redis.command(error, "INCR %s", keys::review_version);
  if (!version) return fail(fmt::format("campaign {} is {}, but the proxies were not told ({}): run the command again", a.id, state, error));
  audit.record(fmt::format("review {}", std::string_view(state) == "approved" ? "approve" : "reject"),
               {{"campaign", a.id}, {"account", *account}, {"by", a.by}, {"at", policy::saudi_iso(now)},
                {"reason", a.reason}, {"before", before}, {"until", policy::saudi_iso(until)}});
  if (a.json)
    return fmt::print("{}\n", nlohmann::ordered_json{{"id", a.id}, {"account", *account}, {"state", state}, {"before", before},
                                                     {"by", a.by}, {"until", policy::saudi_iso(until)}}.dump()),
           0;
  fmt::print("campaign {} of account {}: {} by {} (was {}), until {}\n", a.id, *account, state, a.by, before, policy::saudi_iso(until));
  return 0;
}

CLI::App* verb(CLI::App& parent, const char* name, const char* help, ReviewArgs& a) {
  auto* sub = parent.add_subcommand(name, help);
  add_config_option(*sub, a.config);
  add_json_flag(*sub, a.json);
  return sub;
}

}  // namespace

void add_review(CLI::App& app, OpsRun& run) {
  auto* review = app.add_subcommand("review", "promotional campaigns waiting for review: list, show, approve, reject")->require_subcommand(1);
  auto a = std::make_shared<ReviewArgs>();
  auto* listed = verb(*review, "list", "the pending campaigns: account, sender, template, example, links, first seen, count held", *a);
  listed->add_option("--account", a->account, "only this account's")->type_name("A");
  listed->callback([&run, a] { run = [a] { return list(*a); }; });
  auto* shown = verb(*review, "show", "one campaign, whatever its state", *a);
  shown->add_option("ID", a->id, "the campaign id (16 hex digits)")->required();
  shown->callback([&run, a] { run = [a] { return show(*a); }; });
  auto* approved = verb(*review, "approve", "pass the campaign's messages for review.approval_hours", *a);
  approved->add_option("ID", a->id, "the campaign id")->required();
  approved->add_option("--by", a->by, "who approves (kept in the record and the audit log)")->required()->type_name("NAME");
  approved->add_option("--reason", a->reason, "a note for the record")->type_name("TEXT");
  approved->callback([&run, a] { run = [a] { return decide(*a, "approved"); }; });
  auto* rejected = verb(*review, "reject", "refuse the campaign's messages (failure receipts) for review.approval_hours", *a);
  rejected->add_option("ID", a->id, "the campaign id")->required();
  rejected->add_option("--by", a->by, "who rejects (kept in the record and the audit log)")->required()->type_name("NAME");
  rejected->add_option("--reason", a->reason, "why, for the record and the customer")->required()->type_name("TEXT");
  rejected->callback([&run, a] { run = [a] { return decide(*a, "rejected"); }; });
}

}  // namespace proxy
