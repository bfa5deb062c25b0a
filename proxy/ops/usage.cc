// `hajib usage`: messages and parts relayed per account, day and class, for billing.
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include <ctime>

#include "policy/saudi_time.h"
#include "proxy/ops/common.h"
#include "proxy/state/redis_sync.h"
#include "proxy/state/store.h"

namespace proxy {

int run_usage(int argc, char** argv) {
  OpsArgs a = parse_ops_args(std::vector<std::string>(argv, argv + argc));
  auto from = policy::parse_instant(a.options["from"] + "T00:00"), to = policy::parse_instant(a.options["to"] + "T00:00");
  if (!from || !to || *to < *from || !a.positional.empty())
    return fmt::print(stderr, "usage: hajib usage --config F --from YYYY-MM-DD --to YYYY-MM-DD [--account A]\n"), 2;
  auto config = state_config(a, a.options.count("account") > 0, "usage");
  if (!config) return 1;
  std::string error;
  SyncRedis redis;
  if (!redis.connect(*config, error)) return fmt::print(stderr, "hajib usage: {}\n", error), 1;
  int64_t first = policy::saudi_time(*from).day, last = policy::saudi_time(*to).day;
  fmt::print("account,day,class,messages,parts\n");
  for (const auto& [name, account] : config->accounts) {
    if (a.options.count("account") && a.options["account"] != name) continue;
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
      // Saudi day number back to a date: the instant of its noon, in Saudi time.
      std::time_t noon = std::time_t(day * 86400 + 9 * 3600);
      std::tm tm{};
      gmtime_r(&noon, &tm);
      for (const auto& [cls, counts] : by_class)
        fmt::print("{},{:04}-{:02}-{:02},{},{},{}\n", name, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, cls, counts.first,
                   counts.second);
    }
  }
  return 0;
}

}  // namespace proxy
