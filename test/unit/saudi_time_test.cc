// Instants as ops type them (--at, --fake-time, usage dates): real dates only, shown back in Saudi time.
#include <catch2/catch.hpp>

#include "policy/saudi_time.h"

using policy::parse_instant;
using policy::saudi_iso;

TEST_CASE("an instant with an offset, with Z, or without (Saudi time) is the same moment") {
  auto riyadh = parse_instant("2027-02-20T11:59:00+03:00");
  REQUIRE(riyadh);
  CHECK(parse_instant("2027-02-20T08:59:00Z") == riyadh);
  CHECK(parse_instant("2027-02-20T11:59") == riyadh);
  CHECK(parse_instant("2027-02-20 11:59:00") == riyadh);
}

TEST_CASE("February 29 exists in a leap year and not in 2027") {
  CHECK(parse_instant("2028-02-29T10:00:00+03:00"));
  CHECK_FALSE(parse_instant("2027-02-29T10:00:00+03:00"));
  CHECK(parse_instant("2000-02-29T10:00"));        // divisible by 400: leap
  CHECK_FALSE(parse_instant("2100-02-29T10:00"));  // divisible by 100 only: not
}

TEST_CASE("a day past the end of its month is refused, not rolled into the next") {
  CHECK_FALSE(parse_instant("2027-02-30T10:00:00+03:00"));
  CHECK_FALSE(parse_instant("2027-04-31T10:00"));
  CHECK(parse_instant("2027-04-30T10:00"));
  CHECK(parse_instant("2027-12-31T23:59:59+03:00"));
  CHECK_FALSE(parse_instant("2027-12-32T10:00"));
  CHECK_FALSE(parse_instant("2027-01-00T10:00"));
}

TEST_CASE("month 13, hour 25, minute 60 and second 60 are refused") {
  CHECK_FALSE(parse_instant("2027-13-01T10:00"));
  CHECK_FALSE(parse_instant("2027-00-01T10:00"));
  CHECK_FALSE(parse_instant("2027-02-20T25:00"));
  CHECK_FALSE(parse_instant("2027-02-20T24:00"));
  CHECK_FALSE(parse_instant("2027-02-20T10:60"));
  CHECK_FALSE(parse_instant("2027-02-20T10:00:60"));
  CHECK_FALSE(parse_instant("2027-02-20T10:00:00+25:00"));
  CHECK_FALSE(parse_instant("2027-02-20T10:00:00+03:60"));
}

TEST_CASE("an instant is shown as ISO 8601 in Saudi time, whatever offset it was typed with") {
  CHECK(saudi_iso(*parse_instant("2027-02-20T08:59:07Z")) == "2027-02-20T11:59:07+03:00");
  CHECK(saudi_iso(*parse_instant("2027-02-28T22:30:00Z")) == "2027-03-01T01:30:00+03:00");  // the Saudi day turned
  CHECK(saudi_iso(*parse_instant("2028-02-29T00:00:00+03:00")) == "2028-02-29T00:00:00+03:00");
  CHECK(saudi_iso(0) == "1970-01-01T03:00:00+03:00");
}
