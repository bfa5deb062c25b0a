// `hajib check`, `hajib passwd` and `hajib ports`: ops tools that share the proxy's config loader.
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "policy/msisdn.h"
#include "proxy/config/config.h"
#include "proxy/customer/passwords.h"
#include "policy/saudi_time.h"
#include "proxy/submit/audit_log.h"
#include "proxy/state/redis_sync.h"
#include <algorithm>
#include <map>
#include "proxy/state/store.h"
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
  for (size_t r = 0; r < size_t(policy::Rule::count); ++r) {
    if (policy::is_stateful(policy::Rule(r))) fmt::print("  ----  {} (decided by the state store when relayed)\n", policy::rule_id(policy::Rule(r)));
    else fmt::print("  {}  {}\n", kResult[size_t(trace.results[r])], policy::rule_id(policy::Rule(r)));
  }
  return 0;
}

}  // namespace proxy

// ---- shared-state helpers: optout, balance, usage, forget (docs/state.md) ----

namespace proxy {

namespace {

// Options of the form --name value, after the verb; positional arguments are kept in order.
struct OpsArgs {
  std::map<std::string, std::string> options;
  std::vector<std::string> positional;
};

OpsArgs parse_ops_args(std::vector<std::string> args) {
  OpsArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].starts_with("--") && i + 1 < args.size()) {
      out.options[args[i].substr(2)] = args[i + 1];
      ++i;
    } else {
      out.positional.push_back(args[i]);
    }
  }
  return out;
}

// Loads the config, checks it keeps state in Redis and (if asked) that the account exists.
std::optional<Config> state_config(const OpsArgs& a, bool need_account, const char* command) {
  auto it = a.options.find("config");
  auto config = load_or_report(it == a.options.end() ? "" : it->second);
  if (!config) return std::nullopt;
  if (config->memory_state()) {
    fmt::print(stderr, "hajib {}: this config keeps state inside the proxy (state: memory); ops commands need Redis\n", command);
    return std::nullopt;
  }
  if (need_account) {
    auto acct = a.options.find("account");
    if (acct == a.options.end() || !config->account(acct->second)) {
      fmt::print(stderr, "hajib {}: --account must name an account of {}\n", command, config->path);
      return std::nullopt;
    }
  }
  return config;
}

std::optional<std::string> msisdn_or_complain(const std::string& text, const char* command) {
  auto n = policy::normalize_msisdn(text);
  if (!n) fmt::print(stderr, "hajib {}: '{}' is not a Saudi mobile number\n", command, text);
  return n;
}

}  // namespace

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
  std::string cursor = "0";
  do {  // the counters keyed by this number's hash, in every account
    auto reply = redis.command(error, "SCAN %s MATCH hajib:*:aw:*:%s COUNT 1000", cursor.c_str(), hash.c_str());
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
