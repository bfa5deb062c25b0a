// `hajib balance`: a prepaid account's balance in the state store (REGULATIONS 9).
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include "proxy/ops/common.h"
#include "proxy/state/redis_sync.h"
#include "proxy/state/store.h"

namespace proxy {

int run_balance(int argc, char** argv) {
  const char* usage = "usage: hajib balance show --config F --account A\n       hajib balance add --config F --account A N\n";
  OpsArgs a = parse_ops_args(std::vector<std::string>(argv, argv + argc));
  if (a.positional.empty()) return fmt::print(stderr, "{}", usage), 2;
  std::string verb = a.positional[0];
  long long delta = 0;
  if (verb == "add" && a.positional.size() == 2) {
    char* end = nullptr;
    delta = std::strtoll(a.positional[1].c_str(), &end, 10);
    if (*end != '\0' || a.positional[1].empty()) return fmt::print(stderr, "hajib balance: '{}' is not a whole number\n", a.positional[1]), 2;
  } else if (!(verb == "show" && a.positional.size() == 1)) {
    return fmt::print(stderr, "{}", usage), 2;
  }
  auto config = state_config(a, true, "balance");
  if (!config) return 1;
  std::string key = keys::balance(a.options["account"]), error;
  SyncRedis redis;
  if (!redis.connect(*config, error)) return fmt::print(stderr, "hajib balance: {}\n", error), 1;
  auto reply = verb == "add" ? redis.command(error, "INCRBY %s %lld", key.c_str(), delta) : redis.command(error, "GET %s", key.c_str());
  if (!reply) return fmt::print(stderr, "hajib balance: {}\n", error), 1;
  long long value = reply->type == REDIS_REPLY_INTEGER ? reply->integer : reply->type == REDIS_REPLY_STRING ? std::atoll(reply->str) : 0;
  fmt::print("{}\n", value);
  return 0;
}

}  // namespace proxy
