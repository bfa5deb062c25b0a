// The audit log (REGULATIONS 7, R-AUDIT): one JSON line per decision, bind and reload.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace proxy {

class AuditLog {
 public:
  AuditLog() = default;
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Opens (appends to) `path`; an empty path turns the log off. Returns false with errno set.
  bool open(const std::string& path, bool mask_numbers);
  // logrotate moved the file away: start a new one under the same name (SIGHUP / SIGUSR1).
  bool reopen();
  void flush();
  bool enabled() const { return file_ != nullptr; }

  struct Decision {
    int64_t unix_ms = 0;
    std::string_view policy_version, account, sender, message_class, recipient, verdict, rule, upstream;
    uint64_t session = 0;
    int parts = 1;
    uint32_t status = 0;
    std::string_view message_id, operator_message_id;
  };
  void decision(const Decision& d);
  // Other events (binds, reloads): `fields` is a JSON object body, already escaped.
  void event(int64_t unix_ms, std::string_view kind, std::string_view fields);

  // 9665XXXXXXXX -> 9665XXXX**** (what is kept when numbers are masked).
  static std::string mask(std::string_view number);

 private:
  void line(const std::string& text);
  std::FILE* file_ = nullptr;
  std::string path_;
  bool mask_ = true;
};

// A JSON string literal for `s`, quotes included.
std::string json_string(std::string_view s);

}  // namespace proxy
