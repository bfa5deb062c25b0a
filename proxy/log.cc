// The log: levels, whole lines in one write, rate-limited repeats; JSON escaping by nlohmann-json.
#include "proxy/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include <chrono>
#include <nlohmann/json.hpp>
#include <unordered_map>

namespace proxy {

namespace {
// A peer may send any byte: replace what is not UTF-8 rather than throw on the data path.
constexpr auto kInvalidUtf8 = nlohmann::ordered_json::error_handler_t::replace;
}  // namespace

std::string json_quoted(std::string_view s) { return nlohmann::ordered_json(std::string(s)).dump(-1, ' ', false, kInvalidUtf8); }

std::string dump_json(const nlohmann::ordered_json& j) { return j.dump(-1, ' ', false, kInvalidUtf8); }

namespace log {

namespace {
Level g_level = Level::info;

RepeatLimiter g_repeats;

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

std::optional<Level> parse_level(std::string_view name) {
  if (name == "error") return Level::error;
  if (name == "warn") return Level::warn;
  if (name == "info") return Level::info;
  if (name == "debug") return Level::debug;
  return std::nullopt;
}

void set_level(Level level) { g_level = level; }
bool enabled(Level level) { return level <= g_level; }

namespace {
constexpr std::string_view kLevelNames[] = {"error", "warn", "info", "debug"};
constexpr int kJournalPriorities[] = {3, 4, 6, 7};  // syslog's err, warning, info, debug

// systemd gives a service's stderr to the journal and says so in $JOURNAL_STREAM ("dev:inode"
// of that stream): a stderr redirected elsewhere by hand keeps the timestamped form.
bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  struct stat st {};
  if (!stream || ::fstat(STDERR_FILENO, &st) != 0) return false;
  return fmt::format("{}:{}", st.st_dev, st.st_ino) == stream;
}

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

std::string_view component_of(std::string_view file) {
  const size_t at = file.rfind("proxy/");
  if (at == std::string_view::npos) return "hajib";
  std::string_view rest = file.substr(at + 6);
  const size_t slash = rest.find('/');
  if (slash != std::string_view::npos) return rest.substr(0, slash);  // proxy/state/redis_store.cc: state
  return rest.substr(0, rest.find('.'));                                // proxy/hub.cc: hub
}

std::string format_line(Level level, std::string_view component, std::string_view text, int64_t unix_ms, bool journal) {
  if (journal) return fmt::format("<{}>{}: {}\n", kJournalPriorities[size_t(level)], component, text);
  const std::time_t seconds = std::time_t(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {} {}: {}\n", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, unix_ms % 1000, kLevelNames[size_t(level)], component, text);
}

void write(Level level, std::string_view component, std::string_view text) {
  static const bool journal = stderr_is_journal();
  // One write(2) per line, so that lines from several processes on one stderr never interleave.
  const std::string line = format_line(level, component, text, unix_ms_now(), journal);
  for (size_t done = 0; done < line.size();) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) return;  // nowhere to write: nothing better to do than to go on
    done += size_t(n);
  }
}

bool RepeatLimiter::admit(const void* site, int64_t now_ms, uint64_t& left_out) {
  Repeats& r = sites_[site];
  if (r.written && now_ms - r.last_ms < 1000) {
    ++r.left_out;
    return false;
  }
  r.written = true;
  r.last_ms = now_ms;
  left_out = r.left_out;
  r.left_out = 0;
  return true;
}

void write_limited(Level level, std::string_view component, const void* site, std::string_view text) {
  uint64_t left_out = 0;
  if (!g_repeats.admit(site, steady_ms(), left_out)) return;
  if (left_out == 0) return write(level, component, text);
  write(level, component, fmt::format("{} ({} more like it left out since the last)", text, left_out));
}

}  // namespace log
}  // namespace proxy
