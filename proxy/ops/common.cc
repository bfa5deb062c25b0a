// What the ops subcommands share (proxy/ops/common.h).
#include "proxy/ops/common.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "policy/msisdn.h"

namespace proxy {

CLI::Option* add_config_option(CLI::App& sub, std::string& path) {
  return sub.add_option("-c,--config", path, "the proxy's configuration file")->required()->type_name("FILE");
}

CLI::Option* add_account_option(CLI::App& sub, std::string& account) {
  return sub.add_option("--account", account, "the account (system_id) in the configuration")->required()->type_name("A");
}

CLI::Option* add_json_flag(CLI::App& sub, bool& json) {
  return sub.add_flag("--json", json, "print JSON instead of text");
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

std::optional<Config> state_config(const std::string& path, const std::string* account, const char* command) {
  auto config = load_or_report(path);
  if (!config) return std::nullopt;
  if (config->memory_state()) {
    fmt::print(stderr, "hajib {}: this config keeps state inside the proxy (state: memory); ops commands need Redis\n", command);
    return std::nullopt;
  }
  if (account && !config->account(*account)) {
    fmt::print(stderr, "hajib {}: --account must name an account of {}\n", command, config->path);
    return std::nullopt;
  }
  return config;
}

std::optional<std::string> msisdn_or_complain(const std::string& text, const char* command) {
  auto n = policy::normalize_msisdn(text);
  if (!n) fmt::print(stderr, "hajib {}: '{}' is not a Saudi mobile number\n", command, text);
  return n;
}

std::string ops_user() {
  for (const char* name : {"SUDO_USER", "USER"})
    if (const char* v = std::getenv(name); v && *v) return v;
  return fmt::format("uid {}", getuid());
}

bool OpsAudit::open(const char* command) {
  if (log_.open(config_.audit_file, config_.audit_mask_numbers, config_.audit_visible_digits)) return true;
  fmt::print(stderr, "hajib {}: cannot open the audit log {}: {}; nothing changed\n", command, config_.audit_file,
             std::strerror(errno));
  return false;
}

std::string OpsAudit::masked(std::string_view number) const { return log_.masked(number); }

void OpsAudit::record(std::string_view command, nlohmann::ordered_json fields) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  nlohmann::ordered_json all = {{"who", ops_user()}, {"command", command}};
  for (auto& [key, value] : fields.items()) all[key] = value;
  log_.event(now.count(), "ops", all);
  log_.flush();
}

}  // namespace proxy
