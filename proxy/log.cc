// The log: spdlog writes and stamps the lines; levels, rate-limited repeats and components are ours.
#include "proxy/log.h"

#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
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
constexpr std::string_view kJournalPriorities[] = {"3", "4", "6", "7"};  // syslog's err, warning, info, debug
constexpr spdlog::level::level_enum kSpdlogLevels[] = {spdlog::level::err, spdlog::level::warn, spdlog::level::info,
                                                       spdlog::level::debug};

// systemd gives a service's stderr to the journal and says so in $JOURNAL_STREAM ("dev:inode"
// of that stream): a stderr redirected elsewhere by hand keeps the timestamped form.
bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  struct stat st {};
  if (!stream || ::fstat(STDERR_FILENO, &st) != 0) return false;
  return fmt::format("{}:{}", st.st_dev, st.st_ino) == stream;
}

// %* in our patterns: the level as this log names it ("warn"), or as journald's priority digit.
class LevelFlag final : public spdlog::custom_flag_formatter {
 public:
  explicit LevelFlag(bool journal) : names_(journal ? kJournalPriorities : kLevelNames) {}
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& out) override {
    std::string_view name = names_[msg.level == spdlog::level::err ? 0 : msg.level == spdlog::level::warn ? 1
                                   : msg.level == spdlog::level::info ? 2 : 3];
    out.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<LevelFlag>(*this); }

 private:
  const std::string_view* names_;
};

std::unique_ptr<spdlog::formatter> line_formatter(bool journal) {
  // journald keeps the time itself and reads the priority from a "<N>" prefix.
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  f->add_flag<LevelFlag>('*', journal).set_pattern(journal ? "<%*>%v" : "%Y-%m-%dT%H:%M:%S.%eZ %* %v");
  return f;
}

spdlog::details::log_msg message(Level level, std::string_view text) {
  return spdlog::details::log_msg(spdlog::source_loc{}, spdlog::string_view_t{}, kSpdlogLevels[size_t(level)],
                                  spdlog::string_view_t(text.data(), text.size()));
}

// The sink: stderr is unbuffered, so spdlog writes each formatted line in one write(2), and
// lines from several processes on one stderr never interleave.
spdlog::sinks::stderr_sink_st& stderr_sink() {
  static spdlog::sinks::stderr_sink_st* sink = [] {
    auto* s = new spdlog::sinks::stderr_sink_st();  // never destroyed: a line may be written at exit
    s->set_formatter(line_formatter(stderr_is_journal()));
    return s;
  }();
  return *sink;
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
  const std::string payload = fmt::format("{}: {}", component, text);
  auto msg = message(level, payload);
  msg.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms));
  spdlog::memory_buf_t out;
  line_formatter(journal)->format(msg, out);
  return fmt::to_string(out);
}

void write(Level level, std::string_view component, std::string_view text) {
  const std::string payload = fmt::format("{}: {}", component, text);
  stderr_sink().log(message(level, payload));
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
