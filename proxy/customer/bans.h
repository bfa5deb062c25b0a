// Bans set through the admin API: an address or an account that may not bind until a moment.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace proxy {

enum class BanKind { address, account };
const char* ban_kind_name(BanKind kind);
// The key an address is banned under: an IPv4 peer seen on an IPv6 socket ("::ffff:1.2.3.4") is
// the same peer as "1.2.3.4".
std::string address_key(std::string_view address);

// Held in this process only (a restart or another instance does not know them); times are the
// loop's monotonic milliseconds, so that a step of the wall clock neither lifts nor extends one.
class Bans {
 public:
  static constexpr size_t kMax = 100000;  // bans at once: the map stays bounded whoever calls
  struct Ban {
    BanKind kind;
    std::string key;
    uint64_t until_ms;
  };

  // False when kMax bans are in force already (expired ones are forgotten first).
  bool add(BanKind kind, const std::string& key, uint64_t until_ms, uint64_t now_ms);
  // Lifts every ban on `key`, as an address or as an account; false when there was none.
  bool remove(const std::string& key, uint64_t now_ms);
  bool banned(BanKind kind, const std::string& key, uint64_t now_ms) const;
  std::vector<Ban> in_force(uint64_t now_ms);

 private:
  void forget_expired(uint64_t now_ms);
  std::map<std::pair<BanKind, std::string>, uint64_t> until_;
};

}  // namespace proxy
