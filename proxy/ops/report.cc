// `hajib report flags`: an account's flagged messages over a period, counted by rule, with the
// masked examples kept (docs/policy.md, "Flagged messages"), for ops to send the customer.
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include <map>
#include <vector>

#include "policy/saudi_time.h"
#include "proxy/ops/common.h"
#include "proxy/state/keys.h"
#include "proxy/state/redis_sync.h"

namespace proxy {

namespace {

struct FlagsArgs {
  std::string config, account, from, to;
  bool json = false;
};

struct RuleReport {
  long long count = 0;
  std::vector<std::string> examples;  // distinct, at most keys::kFlagExamples, oldest day first
};

// Field RULE is a count, RULE:N an example (flags.lua).
void add_day(const redisReply& reply, std::map<std::string, RuleReport>& by_rule) {
  std::map<std::string, std::map<int, std::string>> examples;
  for (size_t i = 0; i + 1 < reply.elements; i += 2) {
    std::string field(reply.element[i]->str, reply.element[i]->len), value(reply.element[i + 1]->str, reply.element[i + 1]->len);
    size_t colon = field.rfind(':');
    if (colon == std::string::npos) by_rule[field].count += std::atoll(value.c_str());
    else examples[field.substr(0, colon)][std::atoi(field.c_str() + colon + 1)] = value;
  }
  for (const auto& [rule, kept] : examples) {
    auto& list = by_rule[rule].examples;
    for (const auto& [n, text] : kept)
      if (int(list.size()) < keys::kFlagExamples && std::find(list.begin(), list.end(), text) == list.end()) list.push_back(text);
  }
}

void print_report(const FlagsArgs& a, const std::map<std::string, RuleReport>& by_rule) {
  if (a.json) {
    auto rules = nlohmann::ordered_json::array();
    for (const auto& [rule, r] : by_rule) rules.push_back({{"rule", rule}, {"count", r.count}, {"examples", r.examples}});
    fmt::print("{}\n", nlohmann::ordered_json{{"account", a.account}, {"from", a.from}, {"to", a.to}, {"rules", rules}}.dump());
    return;
  }
  long long total = 0;
  for (const auto& [rule, r] : by_rule) total += r.count;
  fmt::print("account {}, {} to {}: {} flagged messages\n", a.account, a.from, a.to, total);
  for (const auto& [rule, r] : by_rule) {
    fmt::print("{} {}\n", rule, r.count);
    for (const auto& e : r.examples) fmt::print("  e.g. {}\n", e);
  }
}

int flags(const FlagsArgs& a) {
  auto from = policy::parse_instant(a.from + "T00:00"), to = policy::parse_instant(a.to + "T00:00");
  if (!from || !to || *to < *from || a.from.size() != 10 || a.to.size() != 10)
    return fmt::print(stderr, "hajib report flags: --from and --to need real dates, YYYY-MM-DD, --from not after --to\n"), 2;
  const int64_t first = policy::saudi_time(*from).day, last = policy::saudi_time(*to).day;
  if (last - first > 400) return fmt::print(stderr, "hajib report flags: at most 400 days at once (flags are kept 100)\n"), 2;
  auto config = state_config(a.config, &a.account, "report flags");
  if (!config) return 1;
  std::string error;
  SyncRedis redis;
  if (!redis.connect(*config, error)) return fmt::print(stderr, "hajib report flags: {}\n", error), 1;
  std::map<std::string, RuleReport> by_rule;
  for (int64_t day = first; day <= last; ++day) {
    auto reply = redis.command(error, "HGETALL %s", keys::flags(a.account, day).c_str());
    if (!reply) return fmt::print(stderr, "hajib report flags: {}\n", error), 1;
    add_day(*reply, by_rule);
  }
  print_report(a, by_rule);
  return 0;
}

}  // namespace

void add_report(CLI::App& app, OpsRun& run) {
  auto* report = app.add_subcommand("report", "reports for customers: what they should fix")->require_subcommand(1);
  auto* flagged = report->add_subcommand("flags", "an account's flagged messages over Saudi days, counted by rule, with masked examples");
  auto a = std::make_shared<FlagsArgs>();
  add_config_option(*flagged, a->config);
  add_account_option(*flagged, a->account);
  flagged->add_option("--from", a->from, "the first Saudi day")->required()->type_name("YYYY-MM-DD");
  flagged->add_option("--to", a->to, "the last Saudi day")->required()->type_name("YYYY-MM-DD");
  add_json_flag(*flagged, a->json);
  flagged->callback([&run, a] { run = [a] { return flags(*a); }; });
}

}  // namespace proxy
