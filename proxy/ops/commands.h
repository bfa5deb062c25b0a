// The subcommands of the hajib binary besides the daemon, one file each in proxy/ops/.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace proxy {

// What the chosen subcommand does once the whole command line has parsed; returns the exit code.
using OpsRun = std::function<int()>;

// Each registers its subcommand (options, help, checks) on `app`; when it is the one given, its
// parse callback sets `run`.
void add_check(CLI::App& app, OpsRun& run);
void add_explain(CLI::App& app, OpsRun& run);
void add_passwd(CLI::App& app, OpsRun& run);
void add_ports(CLI::App& app, OpsRun& run);
void add_optout(CLI::App& app, OpsRun& run);
void add_balance(CLI::App& app, OpsRun& run);
void add_usage(CLI::App& app, OpsRun& run);
void add_report(CLI::App& app, OpsRun& run);
void add_forget(CLI::App& app, OpsRun& run);
void add_review(CLI::App& app, OpsRun& run);
void add_held(CLI::App& app, OpsRun& run);

// `hajib ctl ARGS...`: the admin API's client; `args` are everything after "ctl", untouched.
int run_ctl(const std::vector<std::string>& args);
// "90s", "15m", "2h", "1d" or plain seconds, up to a year; nullopt otherwise.
std::optional<int64_t> parse_duration_s(std::string_view text);

}  // namespace proxy
