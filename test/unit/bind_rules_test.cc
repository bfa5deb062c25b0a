// Who may bind: CIDR allowlists (IPv4 and IPv6) and the failed-bind guard.
#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include "proxy/customer/bind_guard.h"
#include "proxy/config/cidr.h"

namespace {
sockaddr_storage address(const char* text) {
  sockaddr_storage s{};
  if (std::string(text).find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&s);
    in6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, text, &in6->sin6_addr);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&s);
    in->sin_family = AF_INET;
    inet_pton(AF_INET, text, &in->sin_addr);
  }
  return s;
}
bool allows(const char* cidr, const char* addr) {
  auto c = proxy::Cidr::parse(cidr);
  REQUIRE(c);
  auto a = address(addr);
  return c->contains(reinterpret_cast<sockaddr*>(&a));
}
}  // namespace

TEST_CASE("IPv4 ranges contain exactly their addresses") {
  CHECK(allows("203.0.113.0/24", "203.0.113.7"));
  CHECK_FALSE(allows("203.0.113.0/24", "203.0.114.7"));
  CHECK(allows("10.0.0.0/9", "10.127.255.255"));
  CHECK_FALSE(allows("10.0.0.0/9", "10.128.0.0"));
  CHECK(allows("127.0.0.1", "127.0.0.1"));
  CHECK_FALSE(allows("127.0.0.1", "127.0.0.2"));
  CHECK(allows("0.0.0.0/0", "198.51.100.1"));
}

TEST_CASE("IPv6 ranges, and IPv4-mapped peers against IPv4 ranges") {
  CHECK(allows("2001:db8::/32", "2001:db8:1::5"));
  CHECK_FALSE(allows("2001:db8::/32", "2001:db9::5"));
  CHECK(allows("::1/128", "::1"));
  CHECK(allows("127.0.0.0/8", "::ffff:127.0.0.1"));
  CHECK_FALSE(allows("::1/128", "127.0.0.1"));
}

TEST_CASE("malformed ranges are refused") {
  for (const char* bad : {"", "1.2.3", "1.2.3.4/33", "::1/129", "1.2.3.4/x", "example.com", "1.2.3.4/"})
    CHECK_FALSE(proxy::Cidr::parse(bad));
}

TEST_CASE("an address is blocked after max failures within the window, then let in again") {
  proxy::BindGuard guard(3, 60, 300);
  uint64_t t = 1'000'000;
  guard.failed("198.51.100.9", t);
  guard.failed("198.51.100.9", t + 1000);
  CHECK_FALSE(guard.blocked("198.51.100.9", t + 1000));
  guard.failed("198.51.100.9", t + 2000);
  CHECK(guard.blocked("198.51.100.9", t + 2000));
  CHECK_FALSE(guard.blocked("198.51.100.10", t + 2000));  // other addresses are not affected
  CHECK(guard.blocked("198.51.100.9", t + 2000 + 299'999));
  CHECK_FALSE(guard.blocked("198.51.100.9", t + 2000 + 300'000));
}

TEST_CASE("failures spread wider than the window do not block") {
  proxy::BindGuard guard(3, 60, 300);
  uint64_t t = 1'000'000;
  guard.failed("a", t);
  guard.failed("a", t + 30'000);
  guard.failed("a", t + 61'000);  // the window restarted: this is the first of a new one
  CHECK_FALSE(guard.blocked("a", t + 61'000));
}
