// The process's own figures from /proc/self, for the standard process_* gauges of /metrics.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace proxy {

struct ProcessFigures {
  std::optional<double> resident_memory_bytes;
  std::optional<double> virtual_memory_bytes;
  std::optional<double> cpu_seconds;
  std::optional<double> start_time_seconds;  // since the epoch
  std::optional<double> open_fds;
  std::optional<double> max_fds;
};

// Read now. A figure /proc does not give (another kernel, a sandbox) is left out, not made up.
ProcessFigures read_process_figures();

// The parts that parse, apart from the files (unit tests): /proc/self/stat's line, the clock
// ticks per second, the page size and /proc/stat's boot time.
ProcessFigures parse_proc_stat(std::string_view stat_line, long ticks_per_second, long page_size,
                               std::optional<int64_t> boot_time_s);

}  // namespace proxy
