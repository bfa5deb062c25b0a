// CIDR parsing and matching; IPv4-mapped IPv6 peers match IPv4 ranges.
#include "proxy/config/cidr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <string>

namespace proxy {

namespace {
bool prefix_equal(const uint8_t* a, const uint8_t* b, int bits) {
  int bytes = bits / 8, rest = bits % 8;
  if (std::memcmp(a, b, size_t(bytes)) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = uint8_t(0xFF << (8 - rest));
  return (a[bytes] & mask) == (b[bytes] & mask);
}
}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  Cidr c;
  size_t slash = text.find('/');
  std::string addr(text.substr(0, slash));
  c.v6_ = addr.find(':') != std::string::npos;
  if (inet_pton(c.v6_ ? AF_INET6 : AF_INET, addr.c_str(), c.net_.data()) != 1) return std::nullopt;
  int max_bits = c.v6_ ? 128 : 32;
  c.bits_ = max_bits;
  if (slash != std::string_view::npos) {
    std::string_view b = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(b.data(), b.data() + b.size(), c.bits_);
    if (ec != std::errc() || p != b.data() + b.size() || c.bits_ < 0 || c.bits_ > max_bits) return std::nullopt;
  }
  return c;
}

bool Cidr::contains(const sockaddr* addr) const {
  if (addr->sa_family == AF_INET) {
    if (v6_) return false;
    auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    return prefix_equal(reinterpret_cast<const uint8_t*>(&in->sin_addr), net_.data(), bits_);
  }
  if (addr->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    const uint8_t* a = reinterpret_cast<const uint8_t*>(&in6->sin6_addr);
    if (v6_) return prefix_equal(a, net_.data(), bits_);
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    return std::memcmp(a, v4_mapped, 12) == 0 && prefix_equal(a + 12, net_.data(), bits_);
  }
  return false;
}

}  // namespace proxy
