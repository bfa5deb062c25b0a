// The subcommands of the hajib binary besides the daemon, one file each in proxy/ops/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace proxy {

int run_check(int argc, char** argv);
int run_passwd(int argc, char** argv);
int run_ports(int argc, char** argv);
int run_explain(int argc, char** argv);
int run_optout(int argc, char** argv);
int run_balance(int argc, char** argv);
int run_usage(int argc, char** argv);
int run_forget(int argc, char** argv);
// `hajib ctl ...`: args are everything after "ctl". 0 done, 1 refused (the server's reason on
// stderr) or unreachable, 2 a usage error.
int run_ctl(const std::vector<std::string>& args);
// "90s", "15m", "2h", "1d" or plain seconds, up to a year; nullopt otherwise.
std::optional<int64_t> parse_duration_s(std::string_view text);

}  // namespace proxy
