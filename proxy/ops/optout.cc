// `hajib optout`: the opt-out list of an account in the state store (REGULATIONS 5).
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include <fstream>
#include <iostream>

#include "policy/msisdn.h"
#include "proxy/ops/common.h"
#include "proxy/state/redis_sync.h"
#include "proxy/state/store.h"
#include "proxy/submit/audit_log.h"

namespace proxy {

int run_optout(int argc, char** argv) {
  const char* usage =
      "usage: hajib optout add|remove|check --config F --account A NUMBER\n"
      "       hajib optout import --config F --account A FILE   (one number per line)\n"
      "       hajib optout export --config F --account A\n";
  OpsArgs a = parse_ops_args(std::vector<std::string>(argv, argv + argc));
  if (a.positional.empty()) return fmt::print(stderr, "{}", usage), 2;
  std::string verb = a.positional[0];
  auto config = state_config(a, true, "optout");
  if (!config) return 1;
  std::string key = keys::opted_out(a.options["account"]), error;
  SyncRedis redis;
  if (!redis.connect(*config, error)) return fmt::print(stderr, "hajib optout: {}\n", error), 1;
  if ((verb == "add" || verb == "remove" || verb == "check") && a.positional.size() == 2) {
    auto number = msisdn_or_complain(a.positional[1], "optout");
    if (!number) return 1;
    const char* command = verb == "add" ? "SADD %s %s" : verb == "remove" ? "SREM %s %s" : "SISMEMBER %s %s";
    auto reply = redis.command(error, command, key.c_str(), number->c_str());
    if (!reply) return fmt::print(stderr, "hajib optout: {}\n", error), 1;
    if (verb == "check") fmt::print("{} {}\n", *number, reply->integer ? "opted out" : "subscribed");
    else fmt::print("{} {}\n", *number, verb == "add" ? "opted out" : "subscribed again");
    return 0;
  }
  if (verb == "import" && a.positional.size() == 2) {
    std::ifstream in(a.positional[1]);
    if (!in) return fmt::print(stderr, "hajib optout: cannot read {}\n", a.positional[1]), 1;
    std::vector<std::string> numbers;
    std::string line;
    int bad = 0;
    for (int n = 1; std::getline(in, line); ++n) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      if (auto number = policy::normalize_msisdn(line)) numbers.push_back(*number);
      else fmt::print(stderr, "{}:{}: '{}' is not a Saudi mobile number\n", a.positional[1], n, line), ++bad;
    }
    if (bad) return fmt::print(stderr, "hajib optout: {} bad lines; nothing changed\n", bad), 1;
    for (const auto& number : numbers)
      if (!redis.command(error, "SADD %s %s", key.c_str(), number.c_str())) return fmt::print(stderr, "hajib optout: {}\n", error), 1;
    fmt::print("{} numbers opted out\n", numbers.size());
    return 0;
  }
  if (verb == "export" && a.positional.size() == 1) {
    auto reply = redis.command(error, "SMEMBERS %s", key.c_str());
    if (!reply) return fmt::print(stderr, "hajib optout: {}\n", error), 1;
    std::vector<std::string> numbers;
    for (size_t i = 0; i < reply->elements; ++i) numbers.emplace_back(reply->element[i]->str, reply->element[i]->len);
    std::sort(numbers.begin(), numbers.end());
    for (const auto& n : numbers) fmt::print("{}\n", n);
    return 0;
  }
  fmt::print(stderr, "{}", usage);
  return 2;
}

}  // namespace proxy
