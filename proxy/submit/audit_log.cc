// Audit lines, buffered and flushed every loop tick, reopened for logrotate.
#include "proxy/submit/audit_log.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "proxy/log.h"

namespace proxy {

AuditLog::AuditLog() : decision_(std::make_unique<nlohmann::ordered_json>(nlohmann::ordered_json::object())) {}

AuditLog::~AuditLog() {
  if (file_) std::fclose(file_);
}

bool AuditLog::open(const std::string& path, bool mask_numbers, int visible_digits) {
  if (file_) std::fclose(file_);
  file_ = nullptr;
  path_ = path;
  mask_ = mask_numbers;
  visible_ = visible_digits;
  if (path.empty()) return true;
  file_ = std::fopen(path.c_str(), "a");
  if (file_) std::setvbuf(file_, nullptr, _IOFBF, 1 << 16);
  return file_ != nullptr;
}

bool AuditLog::reopen() { return open(path_, mask_, visible_); }

void AuditLog::flush() {
  if (file_) std::fflush(file_);
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
  std::string text = dump_json(fields);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), file_);
}

void AuditLog::decision(const Decision& d) {
  if (!file_) return;
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
  if (!file_) return;
  nlohmann::ordered_json all = {{"time", iso_time(unix_ms)}, {"event", kind}};
  for (const auto& [key, value] : fields.items()) all[key] = value;
  line(all);
}

}  // namespace proxy
