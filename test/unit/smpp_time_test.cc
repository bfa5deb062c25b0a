// SMPP 3.4 time fields (section 7.1.1), as validity_period gives a receipt mapping its life.
#include <catch2/catch.hpp>

#include "smpp/smpp_time.h"

using smpp::smpp_time_to_unix;

namespace {
constexpr int64_t kNow = 1795381200;  // 2026-11-22 21:00:00 UTC
}

TEST_CASE("an empty validity_period is the SMSC default: no instant") {
  CHECK_FALSE(smpp_time_to_unix("", kNow));
}

TEST_CASE("a relative time counts from now: 000001000000000R is one day") {
  CHECK(smpp_time_to_unix("000001000000000R", kNow) == kNow + 86400);
  CHECK(smpp_time_to_unix("000000013000000R", kNow) == kNow + 5400);
}

TEST_CASE("an absolute time in UTC, and with a quarter-hour offset either way") {
  CHECK(smpp_time_to_unix("261122210000000+", kNow) == kNow);
  CHECK(smpp_time_to_unix("261123000000012+", kNow) == kNow);  // 00:00 at UTC+3 is 21:00 UTC
  CHECK(smpp_time_to_unix("261122200000004-", kNow) == kNow);  // 20:00 at UTC-1
}

TEST_CASE("malformed time fields give no instant") {
  CHECK_FALSE(smpp_time_to_unix("26112221000000+", kNow));    // 15 characters
  CHECK_FALSE(smpp_time_to_unix("261122210000000X", kNow));   // no such kind
  CHECK_FALSE(smpp_time_to_unix("261322210000000+", kNow));   // month 13
  CHECK_FALSE(smpp_time_to_unix("2611222100000a0+", kNow));   // not digits
  CHECK_FALSE(smpp_time_to_unix("261122210000049+", kNow));   // more than 12 hours away
}
