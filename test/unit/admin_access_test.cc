// proxy/admin/access: who may use the admin API, and proxy/customer/bans: who may not bind.
#include <catch2/catch.hpp>

#include "proxy/admin/access.h"
#include "proxy/customer/bans.h"
#include "proxy/ops/commands.h"

namespace {

using proxy::admin::Access;

const std::string kToken = "0123456789abcdef0123456789abcdef";

proxy::AdminConfig admin_on() {
  proxy::AdminConfig a;
  a.token = kToken;
  a.allow_ips = {*proxy::Cidr::parse("127.0.0.1/32"), *proxy::Cidr::parse("::1/128")};
  return a;
}

}  // namespace

TEST_CASE("without a token configured the admin API is off, whatever the request carries") {
  proxy::AdminConfig off = admin_on();
  off.token.clear();
  CHECK(proxy::admin::check_access(off, "127.0.0.1", "Bearer " + kToken) == Access::off);
  CHECK(proxy::admin::check_access(off, "127.0.0.1", "Bearer ") == Access::off);
}

TEST_CASE("the address is checked before the token: outside allow_ips even the right token is forbidden") {
  CHECK(proxy::admin::check_access(admin_on(), "10.1.2.3", "Bearer " + kToken) == Access::forbidden);
  CHECK(proxy::admin::check_access(admin_on(), "not an address", "Bearer " + kToken) == Access::forbidden);
  CHECK(proxy::admin::check_access(admin_on(), "::1", "Bearer " + kToken) == Access::allowed);
  CHECK(proxy::admin::check_access(admin_on(), "::ffff:127.0.0.1", "Bearer " + kToken) == Access::allowed);  // a v6 socket's v4 peer
}

TEST_CASE("no token, a wrong one, a prefix of the right one, or another scheme is unauthorized") {
  for (std::string header : {std::string(), std::string("Bearer"), std::string("Bearer wrong"), "Bearer " + kToken.substr(0, 31),
                             "Bearer " + kToken + "0", "Basic " + kToken, "Bearer" + kToken})
    CHECK(proxy::admin::check_access(admin_on(), "127.0.0.1", header) == Access::unauthorized);
  CHECK(proxy::admin::check_access(admin_on(), "127.0.0.1", "bearer  " + kToken + " ") == Access::allowed);
}

TEST_CASE("same_secret compares whole values of any length") {
  CHECK(proxy::admin::same_secret(kToken, kToken));
  CHECK_FALSE(proxy::admin::same_secret(kToken, kToken + "x"));
  CHECK_FALSE(proxy::admin::same_secret("", kToken));
  CHECK(proxy::admin::same_secret("", ""));
}

TEST_CASE("a ban holds until its moment, then is gone; lifting one finds it as an address or as an account") {
  proxy::Bans bans;
  REQUIRE(bans.add(proxy::BanKind::address, "192.0.2.7", 5000, 1000));
  REQUIRE(bans.add(proxy::BanKind::account, "acme", 9000, 1000));
  CHECK(bans.banned(proxy::BanKind::address, "192.0.2.7", 4999));
  CHECK_FALSE(bans.banned(proxy::BanKind::address, "192.0.2.7", 5000));
  CHECK_FALSE(bans.banned(proxy::BanKind::account, "192.0.2.7", 1000));  // an address is not an account
  CHECK(bans.in_force(6000).size() == 1);
  CHECK(bans.remove("acme", 6000));
  CHECK_FALSE(bans.remove("acme", 6000));
  CHECK(bans.in_force(6000).empty());
}

TEST_CASE("hajib ctl's durations: seconds, minutes, hours, days, up to a year") {
  CHECK(proxy::parse_duration_s("90s") == 90);
  CHECK(proxy::parse_duration_s("90") == 90);
  CHECK(proxy::parse_duration_s("15m") == 900);
  CHECK(proxy::parse_duration_s("2h") == 7200);
  CHECK(proxy::parse_duration_s("1d") == 86400);
  CHECK(proxy::parse_duration_s("366d") == 366 * 86400);
  for (const char* bad : {"", "0s", "-5m", "5x", "m", "1.5h", "367d", "2h30m", "99999999999999999999s"})
    CHECK_FALSE(proxy::parse_duration_s(bad));
}

TEST_CASE("an IPv4 peer on an IPv6 socket is banned under its IPv4 address") {
  CHECK(proxy::address_key("::ffff:192.0.2.7") == "192.0.2.7");
  CHECK(proxy::address_key("::FFFF:192.0.2.7") == "192.0.2.7");
  CHECK(proxy::address_key("192.0.2.7") == "192.0.2.7");
  CHECK(proxy::address_key("2001:db8::1") == "2001:db8::1");
  CHECK(proxy::address_key("::ffff:") == "::ffff:");
}
