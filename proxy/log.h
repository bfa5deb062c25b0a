// The one way the proxy writes its log: levels, one line per write, repeats rate-limited, peer text JSON-quoted.
#pragma once

#include <fmt/format.h>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <string>
#include <string_view>

namespace proxy {

// `s` as a JSON string literal, quotes included: newlines and control characters escaped, bytes
// that are not UTF-8 replaced by U+FFFD. For every string a peer chose (system_id, addresses,
// message ids, decode errors) that goes into a log line.
std::string json_quoted(std::string_view s);

// `j` on one line; bytes that are not UTF-8 become U+FFFD instead of throwing.
std::string dump_json(const nlohmann::ordered_json& j);

namespace log {

// error: the proxy cannot do what it was configured to do; warn: a peer or a dependency
// misbehaves, something was refused or degraded; info: what ops want to see happen (binds,
// links, reloads); debug: more. Lines go to stderr as "hajib: TEXT" (journald keeps them).
enum class Level { error, warn, info, debug };
std::optional<Level> parse_level(std::string_view name);
void set_level(Level level);
bool enabled(Level level);
void write(Level level, std::string_view text);

// The same line (by its format) at most once a second: what a Redis outage at 20,000 msg/s
// would otherwise write 20,000 times a second. The next one that is written says how many were
// left out.
void write_limited(Level level, const void* site, std::string_view text);

// The rule behind write_limited, at chosen instants: true when a line from `site` may be written
// at `now_ms`, with `left_out` the lines of that site dropped since the last one written.
class RepeatLimiter {
 public:
  bool admit(const void* site, int64_t now_ms, uint64_t& left_out);

 private:
  struct Repeats {
    int64_t last_ms = 0;
    uint64_t left_out = 0;
    bool written = false;
  };
  std::unordered_map<const void*, Repeats> sites_;  // one entry per call site: bounded by the code
};

template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::error)) write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::warn)) write(Level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::info)) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::debug)) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}
// warn(), for lines that a flood of messages or PDUs could repeat.
template <typename... Args>
void warn_limited(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::warn)) write_limited(Level::warn, static_cast<fmt::string_view>(f).data(), fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace log
}  // namespace proxy
