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
// links, reloads); debug: more.
//
// A line on stderr reads "2026-11-30T11:23:12.345Z warn state: TEXT": the time in UTC, the level
// and the component, which is the folder of proxy/ the line comes from (customer, submit,
// upstream, deliver, state, net, stats, ops; hub and main for the two files above them). Under
// systemd (stderr is the journal: $JOURNAL_STREAM) it reads "<4>state: TEXT" instead: journald
// keeps the time, and takes the priority from the prefix.
enum class Level { error, warn, info, debug };
std::optional<Level> parse_level(std::string_view name);
void set_level(Level level);
bool enabled(Level level);
void write(Level level, std::string_view component, std::string_view text);

// The line as written, at a chosen instant (tests), in either form.
std::string format_line(Level level, std::string_view component, std::string_view text, int64_t unix_ms, bool journal);
// "state" for ".../proxy/state/redis_store.cc", "hub" for ".../proxy/hub.cc".
std::string_view component_of(std::string_view source_file);

// The same line (by its format) at most once a second: what a Redis outage at 20,000 msg/s
// would otherwise write 20,000 times a second. The next one that is written says how many were
// left out.
void write_limited(Level level, std::string_view component, const void* site, std::string_view text);

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

// log::warn("...", args): each a class template whose constructor writes the line, so that the
// call site's file (its component) comes with it as a default argument after the variadic ones
// (__builtin_FILE, which GCC and the Clang of the fuzz build both have; Clang 14 lacks the
// builtin that libstdc++'s std::source_location needs).
// The file comes wrapped in CallSite, which nothing converts to implicitly: were it a bare
// `const char*`, Clang would deduce an empty Args from the constructor for log::info("{}", ptr)
// and take the pointer for the file.
struct CallSite {
  explicit constexpr CallSite(const char* f) : file(f) {}
  const char* file;
};

#define HAJIB_LOG_FUNCTION(name, level)                                                                          \
  template <typename... Args>                                                                                  \
  struct name {                                                                                                \
    name(fmt::format_string<Args...> f, Args&&... args, CallSite at = CallSite(__builtin_FILE())) {          \
      if (enabled(level)) write(level, component_of(at.file), fmt::format(f, std::forward<Args>(args)...));  \
    }                                                                                                          \
  };                                                                                                           \
  template <typename... Args>                                                                                  \
  name(fmt::format_string<Args...>, Args&&...) -> name<Args...>;

HAJIB_LOG_FUNCTION(error, Level::error)
HAJIB_LOG_FUNCTION(warn, Level::warn)
HAJIB_LOG_FUNCTION(info, Level::info)
HAJIB_LOG_FUNCTION(debug, Level::debug)
#undef HAJIB_LOG_FUNCTION

// warn(), for lines that a flood of messages or PDUs could repeat (the format is the site).
template <typename... Args>
struct warn_limited {
  warn_limited(fmt::format_string<Args...> f, Args&&... args, CallSite at = CallSite(__builtin_FILE())) {
    if (enabled(Level::warn))
      write_limited(Level::warn, component_of(at.file), static_cast<fmt::string_view>(f).data(),
                    fmt::format(f, std::forward<Args>(args)...));
  }
};
template <typename... Args>
warn_limited(fmt::format_string<Args...>, Args&&...) -> warn_limited<Args...>;

}  // namespace log
}  // namespace proxy
