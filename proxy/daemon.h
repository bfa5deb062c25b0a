// The proxy itself, as `hajib --config FILE` runs it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace proxy {

// Runs the proxy on the default loop until SIGTERM/SIGINT; returns the process exit code.
// frozen_clock (tests only) fixes the instant the rules see.
int run_daemon(const std::string& config_path, std::optional<int64_t> frozen_clock, std::string fake_time_file = "");

}  // namespace proxy
