// `hajib forget NUMBER`: erases a number's awareness counters in every account (PDPL); its opt-outs stay.
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include "proxy/ops/common.h"
#include "proxy/state/redis_sync.h"
#include "proxy/state/store.h"
#include "proxy/submit/audit_log.h"

namespace proxy {

int run_forget(int argc, char** argv) {
  OpsArgs a = parse_ops_args(std::vector<std::string>(argv, argv + argc));
  if (a.positional.size() != 1) return fmt::print(stderr, "usage: hajib forget --config F NUMBER\n"), 2;
  auto config = state_config(a, false, "forget");
  if (!config) return 1;
  auto number = msisdn_or_complain(a.positional[0], "forget");
  if (!number) return 1;
  std::string hash = number_hash(*config, *number), error;
  SyncRedis redis;
  if (!redis.connect(*config, error)) return fmt::print(stderr, "hajib forget: {}\n", error), 1;
  long long erased = 0;
  std::string cursor = "0", pattern = keys::awareness_of_number_pattern(hash);
  do {  // the counters keyed by this number's hash, in every account
    auto reply = redis.command(error, "SCAN %s MATCH %s COUNT 1000", cursor.c_str(), pattern.c_str());
    if (!reply || reply->elements != 2) return fmt::print(stderr, "hajib forget: {}\n", error), 1;
    cursor.assign(reply->element[0]->str, reply->element[0]->len);
    for (size_t i = 0; i < reply->element[1]->elements; ++i) {
      auto del = redis.command(error, "DEL %s", reply->element[1]->element[i]->str);
      if (del) erased += del->integer;
    }
  } while (cursor != "0");
  fmt::print("{}: {} counters erased; opt-out records are kept (they protect the number)\n", AuditLog::mask(*number), erased);
  return 0;
}

}  // namespace proxy
