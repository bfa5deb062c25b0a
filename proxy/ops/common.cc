// What the ops subcommands share (proxy/ops/common.h).
#include "proxy/ops/common.h"

#include <fmt/format.h>

#include "policy/msisdn.h"

namespace proxy {

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

}  // namespace proxy
