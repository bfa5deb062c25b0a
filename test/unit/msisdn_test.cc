// Destination numbers: every accepted form becomes 9665XXXXXXXX; anything else is refused.
#include <catch2/catch.hpp>

#include "policy/msisdn.h"

using policy::normalize_msisdn;

TEST_CASE("the accepted forms of a Saudi mobile number normalise to 9665XXXXXXXX") {
  auto [input, expected] = GENERATE(table<std::string, std::string>({
      {"0501234567", "966501234567"},
      {"501234567", "966501234567"},
      {"+966501234567", "966501234567"},
      {"00966501234567", "966501234567"},
      {"966501234567", "966501234567"},
      {"0591234567", "966591234567"},
      {"+966541234567", "966541234567"},
  }));
  INFO(input);
  CHECK(normalize_msisdn(input) == expected);
  CHECK(policy::is_saudi_mobile(input));
}

TEST_CASE("anything that is not a Saudi mobile number is refused") {
  auto input = GENERATE(as<std::string>{}, "", "12345", "0612345678", "96650123", "9665012345678", "05012345678",
                        "050123456", "+971501234567", "0501 234 567", "05O1234567", "+", "00966", "966401234567",
                        "+9665012345a7", "0096650123456");
  INFO(input);
  CHECK_FALSE(normalize_msisdn(input).has_value());
  CHECK_FALSE(policy::is_saudi_mobile(input));
}
