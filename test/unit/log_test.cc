// The log facility: levels filter, and a line repeated by a flood is written once a second.
#include <catch2/catch.hpp>

#include "proxy/log.h"

using proxy::log::Level;

TEST_CASE("log levels: each level lets through itself and what is more severe") {
  using proxy::log::enabled;
  proxy::log::set_level(Level::warn);
  CHECK(enabled(Level::error));
  CHECK(enabled(Level::warn));
  CHECK_FALSE(enabled(Level::info));
  CHECK_FALSE(enabled(Level::debug));
  proxy::log::set_level(Level::debug);
  CHECK(enabled(Level::debug));
  proxy::log::set_level(Level::info);
}

TEST_CASE("log.level names") {
  CHECK(proxy::log::parse_level("error") == Level::error);
  CHECK(proxy::log::parse_level("debug") == Level::debug);
  CHECK_FALSE(proxy::log::parse_level("verbose"));
}

TEST_CASE("a repeated line is written at most once a second, and the next says how many were left out") {
  proxy::log::RepeatLimiter limiter;
  static const char site[] = "state store down: {}", other[] = "redis error: {}";
  uint64_t left_out = 99;
  CHECK(limiter.admit(site, 5000, left_out));
  CHECK(left_out == 0);
  CHECK_FALSE(limiter.admit(site, 5001, left_out));
  CHECK_FALSE(limiter.admit(site, 5999, left_out));
  CHECK(limiter.admit(other, 5999, left_out));  // each call site has its own second
  CHECK(limiter.admit(site, 6000, left_out));
  CHECK(left_out == 2);
}

TEST_CASE("a log line carries the UTC time to the millisecond, the level and the component") {
  using proxy::log::format_line;
  // 2026-11-30 08:59:59.007 UTC is 11:59:59 in Riyadh: the log is in UTC whatever the rules' zone.
  const int64_t at = 1796029199007;
  CHECK(format_line(Level::warn, "state", "redis down", at, false) == "2026-11-30T08:59:59.007Z warn state: redis down\n");
  CHECK(format_line(Level::error, "hub", "x", 1798761600000, false) == "2027-01-01T00:00:00.000Z error hub: x\n");
}

TEST_CASE("under systemd a log line carries journald's priority instead of a time") {
  using proxy::log::format_line;
  CHECK(format_line(Level::error, "hub", "x", 0, true) == "<3>hub: x\n");
  CHECK(format_line(Level::warn, "state", "x", 0, true) == "<4>state: x\n");
  CHECK(format_line(Level::info, "customer", "x", 0, true) == "<6>customer: x\n");
  CHECK(format_line(Level::debug, "net", "x", 0, true) == "<7>net: x\n");
}

TEST_CASE("a line's component is the folder of proxy/ its source file is in") {
  using proxy::log::component_of;
  CHECK(component_of("/work/main/proxy/state/redis_store.cc") == "state");
  CHECK(component_of("proxy/customer/session.cc") == "customer");
  CHECK(component_of("/src/proxy/hub.cc") == "hub");
  CHECK(component_of("/src/proxy/main.cc") == "main");
  CHECK(component_of("elsewhere.cc") == "hajib");
}
