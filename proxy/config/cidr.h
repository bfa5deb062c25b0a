// CIDR ranges (IPv4 and IPv6) for per-account bind allowlists.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace proxy {

class Cidr {
 public:
  // "203.0.113.0/24", "2001:db8::/32", or a bare address (a /32 or /128).
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const sockaddr* addr) const;
  bool operator==(const Cidr&) const = default;

 private:
  bool v6_ = false;
  std::array<uint8_t, 16> net_{};
  int bits_ = 0;
};

}  // namespace proxy
