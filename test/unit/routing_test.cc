// Operator choice: the ported number wins, then static overrides, then the longest prefix.
#include <catch2/catch.hpp>

#include "policy/routing.h"

namespace {
policy::RouteTable example() {
  policy::RouteTable t({"stc", "mobily", "zain"});
  for (auto p : {"96650", "96653", "96655", "966570"}) REQUIRE(t.add_prefix(p, "stc"));
  for (auto p : {"96654", "96656", "966571"}) REQUIRE(t.add_prefix(p, "mobily"));
  for (auto p : {"96658", "96659"}) REQUIRE(t.add_prefix(p, "zain"));
  REQUIRE(t.add_override("966501111111", "zain"));
  return t;
}
std::string name(const policy::RouteTable& t, std::optional<int> i) { return i ? t.upstream_name(*i) : "none"; }
}  // namespace

TEST_CASE("each operator's prefixes route to it") {
  auto t = example();
  auto [number, op] = GENERATE(table<std::string, std::string>({
      {"966501234567", "stc"}, {"966531234567", "stc"}, {"966551234567", "stc"},
      {"966541234567", "mobily"}, {"966561234567", "mobily"},
      {"966581234567", "zain"}, {"966591234567", "zain"},
  }));
  INFO(number);
  CHECK(name(t, t.route(number)) == op);
}

TEST_CASE("the longest prefix wins: MVNO ranges inside 9665 7") {
  auto t = example();
  CHECK(name(t, t.route("966570123456")) == "stc");
  CHECK(name(t, t.route("966571123456")) == "mobily");
  CHECK(name(t, t.route("966572123456")) == "none");
}

TEST_CASE("a static override beats the prefix; a ported number from the store beats both") {
  auto t = example();
  CHECK(name(t, t.route("966501111111")) == "zain");
  CHECK(name(t, t.route("966501111111", "mobily")) == "mobily");
  CHECK(name(t, t.route("966501234567", "zain")) == "zain");
}

TEST_CASE("a ported entry naming an operator we do not have falls back to the table") {
  auto t = example();
  CHECK(name(t, t.route("966501234567", "virgin")) == "stc");
}

TEST_CASE("routes to unknown upstreams or with non-digit prefixes are refused") {
  policy::RouteTable t({"stc"});
  CHECK_FALSE(t.add_prefix("96650", "nope"));
  CHECK_FALSE(t.add_prefix("9665x", "stc"));
  CHECK_FALSE(t.add_override("96650123456a", "stc"));
}
