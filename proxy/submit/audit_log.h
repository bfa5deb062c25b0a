// The audit log (REGULATIONS 7, R-AUDIT): one JSON line per decision, bind and reload.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace proxy {

class AuditLog {
 public:
  AuditLog();
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Opens (appends to, creating with mode 0640) `path`; an empty path turns the log off. Returns
  // false with errno set.
  // Numbers are masked to the country code and `visible_digits` trailing digits, or written whole.
  bool open(const std::string& path, bool mask_numbers, int visible_digits = 4);
  // logrotate moved the file away: start a new one under the same name (SIGHUP / SIGUSR1).
  bool reopen();
  // Writes what is buffered. Every write(2) carries whole lines only: the daemon and `hajib` ops
  // commands append to the same file, and O_APPEND keeps each write whole, so lines never mix.
  void flush();
  bool enabled() const { return fd_ >= 0; }
  // How many write(2) calls the log has made (the unit tests count them).
  size_t writes() const { return writes_; }

  struct Decision {
    int64_t unix_ms = 0;
    std::string_view policy_version, account, sender, message_class, recipient, verdict, rule, upstream;
    uint64_t session = 0;
    int parts = 1;
    uint32_t status = 0;
    std::string_view message_id, operator_message_id;
  };
  void decision(const Decision& d);
  // Other events (opt-outs, reloads): `fields` go after time and event, in their order.
  void event(int64_t unix_ms, std::string_view kind, const nlohmann::ordered_json& fields);
  // `number` as this log writes it: masked, or whole if masking is off.
  std::string masked(std::string_view number) const { return mask_ ? mask(number, visible_) : std::string(number); }

  // 966501234567 -> 966*****4567: the country code 966 (when it leads) and the last `visible`
  // characters stay, every other character becomes '*'. Anything a peer sent as a number goes
  // through here, valid or not.
  static std::string mask(std::string_view number, int visible = 4);

 private:
  void line(const nlohmann::ordered_json& fields);
  void close();
  int fd_ = -1;
  std::string buffer_;  // whole lines not yet written
  size_t writes_ = 0;
  std::string path_;
  bool mask_ = true;
  int visible_ = 4;
  // One decision object, its keys in their order, refilled for every line: building a fresh
  // one costs about three times as much (an allocation per key), at every message.
  std::unique_ptr<nlohmann::ordered_json> decision_;
};

}  // namespace proxy
