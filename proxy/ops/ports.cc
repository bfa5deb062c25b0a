// `hajib ports`: loads, lists and removes ported numbers in the state store (docs/state.md).
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include <fstream>

#include "policy/msisdn.h"
#include "proxy/ops/common.h"
#include "proxy/state/keys.h"
#include "proxy/state/redis_sync.h"
#include "proxy/state/store.h"

namespace proxy {

namespace {

struct PortsArgs {
  std::string config, number, upstream, file;
  std::vector<std::string> numbers;
  long long limit = -1;  // -1: every number
  bool json = false;
};

std::optional<Config> ports_config(const std::string& path) {
  auto config = load_or_report(path);
  if (!config) return std::nullopt;
  if (config->memory_state()) {
    fmt::print(stderr, "hajib ports: this config keeps state in memory; put ported numbers under routes.overrides\n");
    return std::nullopt;
  }
  return config;
}

// The numbers to set, checked; every bad one is reported and then nothing changes.
class Batch {
 public:
  explicit Batch(const Config& config) : config_(config) {}
  void set(const std::string& number, const std::string& op, const std::string& where) {
    auto normal = policy::normalize_msisdn(number);
    if (!normal) complain(fmt::format("{}: '{}' is not a valid Saudi mobile number", where, number));
    else if (!config_.routes.upstream_named(op)) complain(fmt::format("{}: operator '{}' is not configured", where, op));
    else to_set.emplace_back(*normal, op);
  }
  void remove(const std::string& number) {
    auto normal = policy::normalize_msisdn(number);
    if (!normal) complain(fmt::format("hajib ports remove: '{}' is not a valid Saudi mobile number", number));
    else to_remove.push_back(*normal);
  }
  void complain(const std::string& message) {
    fmt::print(stderr, "{}\n", message);
    ++bad;
  }
  std::vector<std::pair<std::string, std::string>> to_set;
  std::vector<std::string> to_remove;
  int bad = 0;

 private:
  const Config& config_;
};

// Writes the batch, audits it, and says so. Running proxies pick it up within a second (they poll the version).
int apply(const Config& config, const Batch& batch, const std::string& command, nlohmann::ordered_json what) {
  if (batch.bad) return fmt::print(stderr, "hajib ports: {} bad entries; nothing changed\n", batch.bad), 1;
  OpsAudit audit(config);
  if (!audit.open("ports")) return 1;
  std::string error;
  long long version = 0;
  bool removing = !batch.to_remove.empty();
  bool ok = removing ? remove_ported(config, batch.to_remove, version, error) : set_ported(config, batch.to_set, version, error);
  if (!ok) return fmt::print(stderr, "hajib ports: {}\n", error), 1;
  if (command != "ports import") {  // a file's numbers are too many for one line: its name and count stand for them
    auto numbers = nlohmann::ordered_json::array();
    for (const auto& [number, op] : batch.to_set) numbers.push_back({{"number", audit.masked(number)}, {"operator", op}});
    for (const auto& number : batch.to_remove) numbers.push_back(audit.masked(number));
    what["numbers"] = numbers;
  }
  what["count"] = batch.to_set.size() + batch.to_remove.size();
  what["version"] = version;
  audit.record(command, what);
  fmt::print("hajib ports: {} numbers {} (version {})\n", batch.to_set.size() + batch.to_remove.size(), removing ? "removed" : "set",
             version);
  return 0;
}

int add(const PortsArgs& a) {
  auto config = ports_config(a.config);
  if (!config) return 1;
  Batch batch(*config);
  batch.set(a.number, a.upstream, "hajib ports add");
  return apply(*config, batch, "ports add", nlohmann::ordered_json::object());
}

int remove(const PortsArgs& a) {
  auto config = ports_config(a.config);
  if (!config) return 1;
  Batch batch(*config);
  for (const auto& number : a.numbers) batch.remove(number);
  return apply(*config, batch, "ports remove", nlohmann::ordered_json::object());
}

int import(const PortsArgs& a) {
  auto config = ports_config(a.config);
  if (!config) return 1;
  std::ifstream in(a.file);
  if (!in) return fmt::print(stderr, "hajib ports import: cannot read {}\n", a.file), 1;
  Batch batch(*config);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    size_t comma = line.find(',');
    std::string where = fmt::format("{}:{}", a.file, n);
    if (comma == std::string::npos) {
      batch.complain(where + ": expected number,operator");
      continue;
    }
    std::string op = line.substr(comma + 1);
    while (!op.empty() && (op.back() == '\r' || op.back() == ' ')) op.pop_back();
    batch.set(line.substr(0, comma), op, where);
  }
  return apply(*config, batch, "ports import", {{"file", a.file}});
}

// HSCAN rather than HGETALL: the ported set can hold millions, and one HGETALL of them would stall
// Redis for every running proxy. The order is Redis', and --limit stops the scan early.
int list(const PortsArgs& a) {
  auto config = ports_config(a.config);
  if (!config) return 1;
  std::string error;
  SyncRedis redis;
  if (!redis.connect(*config, error)) return fmt::print(stderr, "hajib ports: {}\n", error), 1;
  auto total = redis.command(error, "HLEN %s", keys::ported);
  if (!total) return fmt::print(stderr, "hajib ports: {}\n", error), 1;
  size_t limit = a.limit < 0 ? SIZE_MAX : size_t(a.limit);
  std::vector<std::pair<std::string, std::string>> shown;
  std::string cursor = "0";
  do {
    auto reply = redis.command(error, "HSCAN %s %s COUNT 1000", keys::ported, cursor.c_str());
    if (!reply || reply->elements != 2) return fmt::print(stderr, "hajib ports: {}\n", error.empty() ? "unexpected reply to HSCAN" : error), 1;
    cursor.assign(reply->element[0]->str, reply->element[0]->len);
    const redisReply* fields = reply->element[1];
    for (size_t i = 0; i + 1 < fields->elements && shown.size() < limit; i += 2)
      shown.emplace_back(std::string(fields->element[i]->str, fields->element[i]->len),
                         std::string(fields->element[i + 1]->str, fields->element[i + 1]->len));
  } while (cursor != "0" && shown.size() < limit);
  if (a.json) {
    auto ported = nlohmann::ordered_json::array();
    for (const auto& [number, op] : shown) ported.push_back({{"number", number}, {"operator", op}});
    fmt::print("{}\n", nlohmann::ordered_json{{"count", total->integer}, {"ported", ported}}.dump());
    return 0;
  }
  for (const auto& [number, op] : shown) fmt::print("{},{}\n", number, op);
  if (shown.size() < size_t(total->integer)) fmt::print(stderr, "hajib ports: {} of {} ported numbers shown\n", shown.size(), total->integer);
  return 0;
}

CLI::App* verb(CLI::App& parent, const char* name, const char* help, PortsArgs& a) {
  auto* sub = parent.add_subcommand(name, help);
  add_config_option(*sub, a.config);
  return sub;
}

}  // namespace

void add_ports(CLI::App& app, OpsRun& run) {
  auto* ports = app.add_subcommand("ports", "ported numbers in the state store")->require_subcommand(1);
  auto a = std::make_shared<PortsArgs>();
  auto* added = verb(*ports, "add", "route NUMBER to OPERATOR", *a);
  added->add_option("NUMBER", a->number, "a Saudi mobile number")->required();
  added->add_option("OPERATOR", a->upstream, "an upstream of the configuration")->required();
  added->callback([&run, a] { run = [a] { return add(*a); }; });
  auto* removed = verb(*ports, "remove", "forget the ported operator of each NUMBER", *a);
  removed->add_option("NUMBER", a->numbers, "Saudi mobile numbers")->required();
  removed->callback([&run, a] { run = [a] { return remove(*a); }; });
  auto* imported = verb(*ports, "import", "set every number,operator line of FILE; a bad line changes nothing", *a);
  imported->add_option("FILE", a->file, "lines of number,operator; # starts a comment")->required();
  imported->callback([&run, a] { run = [a] { return import(*a); }; });
  auto* listed = verb(*ports, "list", "the ported numbers as number,operator (their count on stderr when --limit cuts)", *a);
  listed->add_option("--limit", a->limit, "show at most N numbers (the count is of all)")->type_name("N")->check(CLI::NonNegativeNumber);
  add_json_flag(*listed, a->json);
  listed->callback([&run, a] { run = [a] { return list(*a); }; });
}

}  // namespace proxy
