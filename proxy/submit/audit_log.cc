// Audit lines, buffered as whole lines and flushed every loop tick, reopened for logrotate.
#include "proxy/submit/audit_log.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <nlohmann/json.hpp>

#include "proxy/log.h"

namespace proxy {

AuditLog::AuditLog() : decision_(std::make_unique<nlohmann::ordered_json>(nlohmann::ordered_json::object())) {}

namespace {
// A buffer this full is written at once, between two lines, instead of waiting for the tick.
constexpr size_t kFlushAt = 1 << 16;
}  // namespace

AuditLog::~AuditLog() { close(); }

void AuditLog::close() {
  flush();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool AuditLog::open(const std::string& path, bool mask_numbers, int visible_digits) {
  close();
  path_ = path;
  mask_ = mask_numbers;
  visible_ = visible_digits;
  if (path.empty()) return true;
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  return fd_ >= 0;
}

bool AuditLog::reopen() { return open(path_, mask_, visible_); }

// One write(2) for everything buffered, which ends at a line's end. A short write (disk full, a
// signal) is finished from where it stopped; what cannot be written is dropped rather than kept
// growing without bound.
void AuditLog::flush() {
  if (fd_ < 0 || buffer_.empty()) return;
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    ++writes_;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += size_t(n);
  }
  buffer_.clear();
}

std::string AuditLog::mask(std::string_view number, int visible) {
  std::string out(number);
  size_t keep_front = number.starts_with("966") ? 3 : 0;
  size_t tail = std::min(out.size() - keep_front, size_t(std::max(visible, 0)));
  for (size_t i = keep_front; i < out.size() - tail; ++i) out[i] = '*';
  return out;
}

namespace {
std::string iso_time(int64_t unix_ms) {
  std::time_t secs = std::time_t(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, int(unix_ms % 1000));
}
}  // namespace

// Every value is escaped by the JSON library, so no byte a peer sends can end a line or open another.
void AuditLog::line(const nlohmann::ordered_json& fields) {
  buffer_ += dump_json(fields);
  buffer_ += '\n';
  if (buffer_.size() >= kFlushAt) flush();
}

void AuditLog::decision(const Decision& d) {
  if (fd_ < 0) return;
  nlohmann::ordered_json& j = *decision_;  // the first line sets the order of the keys
  j["time"] = iso_time(d.unix_ms);
  j["event"] = "decision";
  j["policy"] = d.policy_version;
  j["account"] = d.account;
  j["session"] = d.session;
  j["sender"] = d.sender;
  j["class"] = d.message_class;
  j["recipient"] = masked(d.recipient);
  j["parts"] = d.parts;
  j["verdict"] = d.verdict;
  j["rule"] = d.rule;
  j["status"] = d.status;
  j["upstream"] = d.upstream;
  j["message_id"] = d.message_id;
  j["operator_message_id"] = d.operator_message_id;
  line(j);
}

void AuditLog::event(int64_t unix_ms, std::string_view kind, const nlohmann::ordered_json& fields) {
  if (fd_ < 0) return;
  nlohmann::ordered_json all = {{"time", iso_time(unix_ms)}, {"event", kind}};
  for (const auto& [key, value] : fields.items()) all[key] = value;
  line(all);
}

}  // namespace proxy
