// `hajib forget NUMBER`: erases a number's awareness counters in every account (PDPL); its opt-outs stay.
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include "proxy/ops/common.h"
#include "proxy/state/redis_sync.h"
#include "proxy/state/store.h"
#include "proxy/submit/audit_log.h"

namespace proxy {

namespace {

int forget(const std::string& path, const std::string& text) {
  auto config = state_config(path, nullptr, "forget");
  if (!config) return 1;
  auto number = msisdn_or_complain(text, "forget");
  if (!number) return 1;
  OpsAudit audit(*config);
  if (!audit.open("forget")) return 1;
  std::string hash = number_hash(*config, *number), error;
  SyncRedis redis;
  if (!redis.connect(*config, error)) return fmt::print(stderr, "hajib forget: {}\n", error), 1;
  long long erased = 0;
  std::string cursor = "0", pattern = keys::awareness_of_number_pattern(hash);
  do {  // the counters keyed by this number's hash, in every account
    auto reply = redis.command(error, "SCAN %s MATCH %s COUNT 1000", cursor.c_str(), pattern.c_str());
    if (!reply || reply->elements != 2) {  // what was erased before the failure is on the record
      audit.record("forget", {{"number", audit.masked(*number)}, {"counters", erased}, {"complete", false}});
      return fmt::print(stderr, "hajib forget: {}\n", error.empty() ? "unexpected reply to SCAN" : error), 1;
    }
    cursor.assign(reply->element[0]->str, reply->element[0]->len);
    for (size_t i = 0; i < reply->element[1]->elements; ++i) {
      auto del = redis.command(error, "DEL %s", reply->element[1]->element[i]->str);
      if (del) erased += del->integer;
    }
  } while (cursor != "0");
  audit.record("forget", {{"number", audit.masked(*number)}, {"counters", erased}});
  fmt::print("{}: {} counters erased; opt-out records are kept (they protect the number)\n", AuditLog::mask(*number), erased);
  return 0;
}

}  // namespace

void add_forget(CLI::App& app, OpsRun& run) {
  auto* sub = app.add_subcommand("forget", "erase one number's awareness counters in every account (its opt-outs stay)");
  auto path = std::make_shared<std::string>(), number = std::make_shared<std::string>();
  add_config_option(*sub, *path);
  sub->add_option("NUMBER", *number, "a Saudi mobile number")->required();
  sub->callback([&run, path, number] { run = [path, number] { return forget(*path, *number); }; });
}

}  // namespace proxy
