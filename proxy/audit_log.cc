// Audit lines, buffered and flushed every loop tick, reopened for logrotate.
#include "proxy/audit_log.h"

#include <ctime>
#include <fmt/format.h>

namespace proxy {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out.push_back(char(c));
    }
  }
  out += '"';
  return out;
}

AuditLog::~AuditLog() {
  if (file_) std::fclose(file_);
}

bool AuditLog::open(const std::string& path, bool mask_numbers) {
  if (file_) std::fclose(file_);
  file_ = nullptr;
  path_ = path;
  mask_ = mask_numbers;
  if (path.empty()) return true;
  file_ = std::fopen(path.c_str(), "a");
  if (file_) std::setvbuf(file_, nullptr, _IOFBF, 1 << 16);
  return file_ != nullptr;
}

bool AuditLog::reopen() { return open(path_, mask_); }

void AuditLog::flush() {
  if (file_) std::fflush(file_);
}

std::string AuditLog::mask(std::string_view number) {
  std::string out(number);
  for (size_t i = out.size() > 4 ? out.size() - 4 : 0; i < out.size(); ++i) out[i] = '*';
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

void AuditLog::line(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), file_);
  std::fputc('\n', file_);
}

void AuditLog::decision(const Decision& d) {
  if (!file_) return;
  std::string recipient = mask_ ? mask(d.recipient) : std::string(d.recipient);
  line(fmt::format(R"({{"time":"{}","event":"decision","policy":"{}","account":{},"session":{},"sender":{},"class":"{}",)"
                   R"("recipient":"{}","parts":{},"verdict":"{}","rule":"{}","status":{},"upstream":"{}","message_id":"{}",)"
                   R"("operator_message_id":{}}})",
                   iso_time(d.unix_ms), d.policy_version, json_string(d.account), d.session, json_string(d.sender),
                   d.message_class, recipient, d.parts, d.verdict, d.rule, d.status, d.upstream, d.message_id,
                   json_string(d.operator_message_id)));
}

void AuditLog::event(int64_t unix_ms, std::string_view kind, std::string_view fields) {
  if (!file_) return;
  line(fmt::format(R"({{"time":"{}","event":"{}",{}}})", iso_time(unix_ms), kind, fields));
}

}  // namespace proxy
