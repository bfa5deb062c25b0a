// `hajib usage`: messages and parts relayed per account, day and class, for billing.
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include <ctime>

#include "policy/saudi_time.h"
#include "proxy/ops/common.h"
#include "proxy/state/redis_sync.h"
#include "proxy/state/store.h"

namespace proxy {

namespace {

struct UsageArgs {
  std::string config, account, from, to;
  bool json = false;
};

struct UsageRow {
  std::string account, day, message_class;
  long long messages, parts;
};

// Saudi day number back to its date: the instant of its noon, in Saudi time.
std::string date_of(int64_t day) {
  std::time_t noon = std::time_t(day * 86400 + 9 * 3600);
  std::tm tm{};
  gmtime_r(&noon, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

void print_rows(const std::vector<UsageRow>& rows, bool json) {
  if (json) {
    auto out = nlohmann::ordered_json::array();
    for (const auto& r : rows)
      out.push_back({{"account", r.account}, {"day", r.day}, {"class", r.message_class}, {"messages", r.messages}, {"parts", r.parts}});
    fmt::print("{}\n", out.dump());
    return;
  }
  fmt::print("account,day,class,messages,parts\n");
  for (const auto& r : rows) fmt::print("{},{},{},{},{}\n", r.account, r.day, r.message_class, r.messages, r.parts);
}

int usage(const UsageArgs& a) {
  auto from = policy::parse_instant(a.from + "T00:00"), to = policy::parse_instant(a.to + "T00:00");
  if (!from || !to || *to < *from || a.from.size() != 10 || a.to.size() != 10)
    return fmt::print(stderr, "hajib usage: --from and --to need real dates, YYYY-MM-DD, --from not after --to\n"), 2;
  auto config = state_config(a.config, a.account.empty() ? nullptr : &a.account, "usage");
  if (!config) return 1;
  std::string error;
  SyncRedis redis;
  if (!redis.connect(*config, error)) return fmt::print(stderr, "hajib usage: {}\n", error), 1;
  int64_t first = policy::saudi_time(*from).day, last = policy::saudi_time(*to).day;
  std::vector<UsageRow> rows;
  for (const auto& [name, account] : config->accounts) {
    if (!a.account.empty() && a.account != name) continue;
    for (int64_t day = first; day <= last; ++day) {
      auto reply = redis.command(error, "HGETALL %s", keys::usage(name, day).c_str());
      if (!reply) return fmt::print(stderr, "hajib usage: {}\n", error), 1;
      std::map<std::string, std::pair<long long, long long>> by_class;
      for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        std::string field(reply->element[i]->str, reply->element[i]->len);
        long long n = std::atoll(reply->element[i + 1]->str);
        size_t colon = field.find(':');
        auto& row = by_class[field.substr(0, colon)];
        (field.ends_with(":parts") ? row.second : row.first) += n;
      }
      for (const auto& [cls, counts] : by_class) rows.push_back({name, date_of(day), cls, counts.first, counts.second});
    }
  }
  print_rows(rows, a.json);
  return 0;
}

}  // namespace

void add_usage(CLI::App& app, OpsRun& run) {
  auto* sub = app.add_subcommand("usage", "messages and parts relayed per account, Saudi day and class (CSV), for billing");
  auto a = std::make_shared<UsageArgs>();
  add_config_option(*sub, a->config);
  sub->add_option("--from", a->from, "the first Saudi day")->required()->type_name("YYYY-MM-DD");
  sub->add_option("--to", a->to, "the last Saudi day")->required()->type_name("YYYY-MM-DD");
  sub->add_option("--account", a->account, "only this account")->type_name("A");
  add_json_flag(*sub, a->json);
  sub->callback([&run, a] { run = [a] { return usage(*a); }; });
}

}  // namespace proxy
