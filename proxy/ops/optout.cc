// `hajib optout`: the opt-out list of an account in the state store (REGULATIONS 5).
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>

#include "policy/msisdn.h"
#include "proxy/ops/common.h"
#include "proxy/state/redis_sync.h"
#include "proxy/state/store.h"

namespace proxy {

namespace {

struct OptoutArgs {
  std::string config, account, number, file;
  bool json = false;
};

// add, remove, check: one number.
int one_number(const std::string& verb, const OptoutArgs& a) {
  auto config = state_config(a.config, &a.account, "optout");
  if (!config) return 1;
  auto number = msisdn_or_complain(a.number, "optout");
  if (!number) return 1;
  OpsAudit audit(*config);
  if (verb != "check" && !audit.open("optout")) return 1;
  std::string key = keys::opted_out(a.account), error;
  SyncRedis redis;
  if (!redis.connect(*config, error)) return fmt::print(stderr, "hajib optout: {}\n", error), 1;
  const char* command = verb == "add" ? "SADD %s %s" : verb == "remove" ? "SREM %s %s" : "SISMEMBER %s %s";
  auto reply = redis.command(error, command, key.c_str(), number->c_str());
  if (!reply) return fmt::print(stderr, "hajib optout: {}\n", error), 1;
  if (verb == "check" && a.json)
    return fmt::print("{}\n", nlohmann::json{{"account", a.account}, {"number", *number}, {"opted_out", reply->integer == 1}}.dump()), 0;
  if (verb == "check") return fmt::print("{} {}\n", *number, reply->integer ? "opted out" : "subscribed"), 0;
  audit.record("optout " + verb, {{"account", a.account}, {"number", audit.masked(*number)}, {"changed", reply->integer > 0}});
  fmt::print("{} {}\n", *number, verb == "add" ? "opted out" : "subscribed again");
  return 0;
}

// Every line a number, or nothing changes.
int import_file(const OptoutArgs& a) {
  auto config = state_config(a.config, &a.account, "optout");
  if (!config) return 1;
  std::ifstream in(a.file);
  if (!in) return fmt::print(stderr, "hajib optout: cannot read {}\n", a.file), 1;
  std::vector<std::string> numbers;
  std::string line;
  int bad = 0;
  for (int n = 1; std::getline(in, line); ++n) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (auto number = policy::normalize_msisdn(line)) numbers.push_back(*number);
    else fmt::print(stderr, "{}:{}: '{}' is not a Saudi mobile number\n", a.file, n, line), ++bad;
  }
  if (bad) return fmt::print(stderr, "hajib optout: {} bad lines; nothing changed\n", bad), 1;
  OpsAudit audit(*config);
  if (!audit.open("optout")) return 1;
  std::string key = keys::opted_out(a.account), error;
  SyncRedis redis;
  if (!redis.connect(*config, error)) return fmt::print(stderr, "hajib optout: {}\n", error), 1;
  size_t done = 0;
  for (; done < numbers.size(); ++done)
    if (!redis.command(error, "SADD %s %s", key.c_str(), numbers[done].c_str())) break;
  // Recorded even when Redis failed part way: what did change is on the record.
  audit.record("optout import", {{"account", a.account}, {"file", a.file}, {"numbers", done}});
  if (done < numbers.size()) return fmt::print(stderr, "hajib optout: {} ({} of {} imported)\n", error, done, numbers.size()), 1;
  fmt::print("{} numbers opted out\n", numbers.size());
  return 0;
}

int export_list(const OptoutArgs& a) {
  auto config = state_config(a.config, &a.account, "optout");
  if (!config) return 1;
  std::string key = keys::opted_out(a.account), error;
  SyncRedis redis;
  if (!redis.connect(*config, error)) return fmt::print(stderr, "hajib optout: {}\n", error), 1;
  auto reply = redis.command(error, "SMEMBERS %s", key.c_str());
  if (!reply) return fmt::print(stderr, "hajib optout: {}\n", error), 1;
  std::vector<std::string> numbers;
  for (size_t i = 0; i < reply->elements; ++i) numbers.emplace_back(reply->element[i]->str, reply->element[i]->len);
  std::sort(numbers.begin(), numbers.end());
  if (a.json) return fmt::print("{}\n", nlohmann::json{{"account", a.account}, {"opted_out", numbers}}.dump()), 0;
  for (const auto& n : numbers) fmt::print("{}\n", n);
  return 0;
}

CLI::App* verb(CLI::App& parent, const char* name, const char* help, const std::shared_ptr<OptoutArgs>& a) {
  auto* sub = parent.add_subcommand(name, help);
  add_config_option(*sub, a->config);
  add_account_option(*sub, a->account);
  return sub;
}

}  // namespace

void add_optout(CLI::App& app, OpsRun& run) {
  auto* optout = app.add_subcommand("optout", "an account's opt-out list in the state store")->require_subcommand(1);
  auto a = std::make_shared<OptoutArgs>();
  for (const char* name : {"add", "remove", "check"}) {
    auto* sub = verb(*optout, name,
                     name == std::string("add")      ? "opt a number out"
                     : name == std::string("remove") ? "subscribe a number again"
                                                     : "say whether a number is opted out",
                     a);
    sub->add_option("NUMBER", a->number, "a Saudi mobile number")->required();
    if (name == std::string("check")) add_json_flag(*sub, a->json);
    sub->callback([&run, a, v = std::string(name)] { run = [a, v] { return one_number(v, *a); }; });
  }
  auto* import = verb(*optout, "import", "opt out every number of a file (one a line); a bad line changes nothing", a);
  import->add_option("FILE", a->file, "one number per line; # starts a comment")->required();
  import->callback([&run, a] { run = [a] { return import_file(*a); }; });
  auto* out = verb(*optout, "export", "the opted-out numbers, one a line", a);
  add_json_flag(*out, a->json);
  out->callback([&run, a] { run = [a] { return export_list(*a); }; });
}

}  // namespace proxy
