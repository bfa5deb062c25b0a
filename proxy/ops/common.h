// What the ops subcommands share: their common options, loading the config, numbers, the audit line.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "proxy/config/config.h"
#include "proxy/submit/audit_log.h"

namespace proxy {

// `--config F`, `--config=F` and `-c F`, required: every ops subcommand reads the daemon's config.
CLI::Option* add_config_option(CLI::App& sub, std::string& path);
CLI::Option* add_account_option(CLI::App& sub, std::string& account);
CLI::Option* add_json_flag(CLI::App& sub, bool& json);

// The config, or nullopt after printing every error (file:line:column) to stderr.
std::optional<Config> load_or_report(const std::string& path);

// Loads the config and checks it keeps state in Redis and (when `account` is given) names it.
std::optional<Config> state_config(const std::string& path, const std::string* account, const char* command);
std::optional<std::string> msisdn_or_complain(const std::string& text, const char* command);

// Who ran the command, for the audit log: the user behind sudo, else $USER, else the uid.
std::string ops_user();

// One audit line per ops change (event "ops"): the time, who, the command and `fields` (numbers
// already masked by `masked`). Opened before the change is made, so that no change goes unaudited.
class OpsAudit {
 public:
  explicit OpsAudit(const Config& config) : config_(config) {}
  // False, after saying why, when the config names an audit log that cannot be opened.
  bool open(const char* command);
  std::string masked(std::string_view number) const;
  void record(std::string_view command, nlohmann::ordered_json fields);

 private:
  const Config& config_;
  AuditLog log_;
};

}  // namespace proxy
