// What the ops subcommands share: finding and loading the config, options, numbers.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proxy/config/config.h"

namespace proxy {

// Finds `--config F` among the arguments and removes it; empty if absent.
std::string take_config(std::vector<std::string>& args);
// The config, or nullopt after printing every error (file:line:column) to stderr.
std::optional<Config> load_or_report(const std::string& path);

// Options of the form --name value, after the verb; positional arguments are kept in order.
struct OpsArgs {
  std::map<std::string, std::string> options;
  std::vector<std::string> positional;
};
OpsArgs parse_ops_args(std::vector<std::string> args);

// Loads the config, checks it keeps state in Redis and (if asked) that the account exists.
std::optional<Config> state_config(const OpsArgs& a, bool need_account, const char* command);
std::optional<std::string> msisdn_or_complain(const std::string& text, const char* command);

}  // namespace proxy
