// `hajib ports`: loads, lists and removes ported numbers in the state store (docs/state.md).
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iostream>

#include "policy/msisdn.h"
#include "proxy/ops/common.h"
#include "proxy/state/redis_sync.h"
#include "proxy/state/store.h"

namespace proxy {

int run_ports(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  std::string path = take_config(args);
  const char* usage =
      "usage: hajib ports add --config F NUMBER OPERATOR\n"
      "       hajib ports remove --config F NUMBER...\n"
      "       hajib ports import --config F FILE   (lines: number,operator)\n";
  if (args.empty()) {
    fmt::print(stderr, "{}", usage);
    return 2;
  }
  auto config = load_or_report(path);
  if (!config) return 1;
  if (config->memory_state()) {
    fmt::print(stderr, "hajib ports: this config keeps state in memory; put ported numbers under routes.overrides\n");
    return 1;
  }
  std::string verb = args[0];
  std::vector<std::pair<std::string, std::string>> to_set;
  std::vector<std::string> to_remove;
  int bad = 0;
  auto add = [&](const std::string& number, const std::string& op, const std::string& where) {
    auto normal = policy::normalize_msisdn(number);
    if (!normal) {
      fmt::print(stderr, "{}: '{}' is not a valid Saudi mobile number\n", where, number);
      ++bad;
    } else if (!config->routes.upstream_named(op)) {
      fmt::print(stderr, "{}: operator '{}' is not configured\n", where, op);
      ++bad;
    } else {
      to_set.emplace_back(*normal, op);
    }
  };
  if (verb == "add" && args.size() == 3) {
    add(args[1], args[2], "hajib ports add");
  } else if (verb == "remove" && args.size() >= 2) {
    for (size_t i = 1; i < args.size(); ++i) {
      auto normal = policy::normalize_msisdn(args[i]);
      if (!normal) {
        fmt::print(stderr, "hajib ports remove: '{}' is not a valid Saudi mobile number\n", args[i]);
        ++bad;
      } else {
        to_remove.push_back(*normal);
      }
    }
  } else if (verb == "import" && args.size() == 2) {
    std::ifstream in(args[1]);
    if (!in) {
      fmt::print(stderr, "hajib ports import: cannot read {}\n", args[1]);
      return 1;
    }
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.empty() || line[0] == '#') continue;
      size_t comma = line.find(',');
      std::string where = fmt::format("{}:{}", args[1], n);
      if (comma == std::string::npos) {
        fmt::print(stderr, "{}: expected number,operator\n", where);
        ++bad;
        continue;
      }
      std::string op = line.substr(comma + 1);
      while (!op.empty() && (op.back() == '\r' || op.back() == ' ')) op.pop_back();
      add(line.substr(0, comma), op, where);
    }
  } else {
    fmt::print(stderr, "{}", usage);
    return 2;
  }
  if (bad) {
    fmt::print(stderr, "hajib ports: {} bad entries; nothing changed\n", bad);
    return 1;
  }
  std::string error;
  long long version = 0;
  bool ok = to_remove.empty() ? set_ported(*config, to_set, version, error) : remove_ported(*config, to_remove, version, error);
  if (!ok) {
    fmt::print(stderr, "hajib ports: {}\n", error);
    return 1;
  }
  // Running proxies pick the change up within a second (they poll the version).
  fmt::print("hajib ports: {} numbers {} (version {})\n", to_set.size() + to_remove.size(),
             to_remove.empty() ? "set" : "removed", version);
  return 0;
}

}  // namespace proxy
