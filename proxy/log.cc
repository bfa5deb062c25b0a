// The log: levels, whole lines in one write, rate-limited repeats; JSON escaping by nlohmann-json.
#include "proxy/log.h"

#include <unistd.h>

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

void write(Level, std::string_view text) {
  // One write(2) per line, so that lines from several processes on one stderr never interleave.
  std::string line;
  line.reserve(text.size() + 8);
  line.append("hajib: ").append(text).push_back('\n');
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

void write_limited(Level level, const void* site, std::string_view text) {
  uint64_t left_out = 0;
  if (!g_repeats.admit(site, steady_ms(), left_out)) return;
  if (left_out == 0) return write(level, text);
  write(level, fmt::format("{} ({} more like it left out since the last)", text, left_out));
}

}  // namespace log
}  // namespace proxy
