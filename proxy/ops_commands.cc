// `hajib check`, `hajib passwd` and `hajib ports`: ops tools that share the proxy's config loader.
#include "proxy/ops_commands.h"

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "policy/msisdn.h"
#include "proxy/config.h"
#include "proxy/passwords.h"
#include "policy/saudi_time.h"
#include "proxy/state_store.h"
#include "smpp/protocol.h"
#include <ctime>

namespace proxy {

namespace {

// Finds `--config F` among the arguments and removes it; empty if absent.
std::string take_config(std::vector<std::string>& args) {
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--config" || args[i] == "-c") {
      std::string path = args[i + 1];
      args.erase(args.begin() + long(i), args.begin() + long(i) + 2);
      return path;
    }
  return {};
}

std::optional<Config> load_or_report(const std::string& path) {
  if (path.empty()) {
    fmt::print(stderr, "hajib: --config FILE is required\n");
    return std::nullopt;
  }
  std::vector<ConfigError> errors;
  auto config = load_config(path, errors);
  for (const auto& e : errors) fmt::print(stderr, "{}\n", e.to_string());
  return config;
}

}  // namespace

int run_check(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  auto config = load_or_report(take_config(args));
  if (!config) return 1;
  fmt::print("{}: ok ({} upstreams, {} accounts)\n", config->path, config->upstreams.size(), config->accounts.size());
  return 0;
}

int run_passwd(int argc, char** argv) {
  std::string password;
  if (argc > 0) password = argv[0];
  else if (!std::getline(std::cin, password)) {
    fmt::print(stderr, "usage: hajib passwd PASSWORD   (or the password on standard input)\n");
    return 2;
  }
  if (password.empty() || password.size() > 8) {
    fmt::print(stderr, "hajib passwd: an SMPP password has 1 to 8 characters\n");
    return 2;
  }
  if (!passwords_init()) return 1;
  std::string hash = hash_password(password);
  if (hash.empty()) {
    fmt::print(stderr, "hajib passwd: hashing failed (out of memory?)\n");
    return 1;
  }
  fmt::print("{}\n", hash);
  return 0;
}

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

namespace proxy {

int run_explain(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  std::string path = take_config(args);
  std::string account, from, to, text, at;
  for (size_t i = 0; i + 1 < args.size(); i += 2) {
    const std::string& k = args[i];
    std::string* target = k == "--account" ? &account : k == "--from" ? &from : k == "--to" ? &to : k == "--text" ? &text
                        : k == "--at"      ? &at      : nullptr;
    if (!target) {
      fmt::print(stderr, "hajib explain: unknown option {}\n", k);
      return 2;
    }
    *target = args[i + 1];
  }
  if (args.size() % 2 || account.empty() || from.empty() || to.empty()) {
    fmt::print(stderr, "usage: hajib explain --config F --account A --from SENDER --to NUMBER --text TEXT [--at TIME]\n");
    return 2;
  }
  auto config = load_or_report(path);
  if (!config) return 1;
  if (!config->account(account)) {
    fmt::print(stderr, "hajib explain: no account '{}' in {}\n", account, path);
    return 1;
  }
  auto destination = policy::normalize_msisdn(to);
  if (!destination) {
    fmt::print("verdict: reject (destination.invalid)\nstatus: 0x{:08X} ESME_RINVDSTADR\n'{}' is not a Saudi mobile number\n",
               smpp::status::ESME_RINVDSTADR, to);
    return 0;
  }
  int64_t when = std::time(nullptr);
  if (!at.empty()) {
    auto parsed = policy::parse_instant(at);
    if (!parsed) {
      fmt::print(stderr, "hajib explain: --at needs a time like 2027-02-20T11:59:00+03:00\n");
      return 2;
    }
    when = *parsed;
  }
  policy::Trace trace;
  policy::Message message{account, from, *destination, text, true, 1};
  policy::Verdict v = config->policy->decide(message, policy::Context{when}, &trace);
  policy::SaudiTime saudi = policy::saudi_time(when);
  static constexpr const char* kOutcome[] = {"accept", "flag", "reject"};
  fmt::print("policy {} at {} (Saudi day {}, {:02}:{:02})\n", config->policy->version(), when, saudi.day, saudi.minute / 60,
             saudi.minute % 60);
  fmt::print("class: {}\n", policy::name(v.message_class));
  fmt::print("verdict: {}{}\n", kOutcome[size_t(v.outcome)],
             v.rule == policy::Rule::none ? "" : fmt::format(" ({})", policy::rule_id(v.rule)));
  std::string_view status = smpp::status_name(v.status);
  fmt::print("status: 0x{:08X}{}\n", v.status, status.empty() ? (v.status ? " (vendor-specific)" : "") : " " + std::string(status));
  static constexpr const char* kResult[] = {"pass", "FAIL", "n/a ", "off "};
  for (size_t r = 0; r < size_t(policy::Rule::count); ++r)
    fmt::print("  {}  {}\n", kResult[size_t(trace.results[r])], policy::rule_id(policy::Rule(r)));
  return 0;
}

}  // namespace proxy
