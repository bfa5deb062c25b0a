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
