// The policy compiler on values of the wrong YAML shape (found by test/fuzz/config_fuzz.cc): an error, never a throw.
//
// yaml-cpp's operator[] throws on a scalar and iterating a list as a map throws; before the fix
// `rules: { otp.no_reason: flag }`, `ramadan: {}` and the like escaped as exceptions, which
// terminated `hajib check` and would have terminated the proxy on a SIGHUP reload.
#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "policy/table.h"

namespace {

struct Compiled {
  bool ok = false;
  std::vector<policy::Diagnostic> diagnostics;
  bool mentions(const std::string& fragment) const {
    for (const auto& d : diagnostics)
      if (d.message.find(fragment) != std::string::npos) return true;
    return false;
  }
};

Compiled compile_policy(const std::string& yaml) {
  policy::Compiler compiler;
  compiler.add_rules(YAML::Load(yaml)["policy"], "t.yaml");
  Compiled out;
  out.ok = compiler.finish() != nullptr;
  out.diagnostics = compiler.diagnostics();
  return out;
}

}  // namespace

TEST_CASE("a rule written as a scalar or a list is an error, not a throw") {
  for (const char* yaml : {"policy: { rules: { otp.no_reason: flag } }", "policy: { rules: { otp.no_reason: [ flag ] } }"}) {
    INFO(yaml);
    Compiled c;
    REQUIRE_NOTHROW(c = compile_policy(yaml));
    CHECK_FALSE(c.ok);
    CHECK(c.mentions("a rule takes { action, status, when_store_down }"));
  }
}

TEST_CASE("an empty rule is still accepted") {
  Compiled c = compile_policy("policy: { rules: { otp.no_reason: } }");
  CHECK(c.ok);
  CHECK(c.diagnostics.empty());
}

TEST_CASE("ramadan: {} means ICU's dates, and ramadan as a scalar is an error") {
  Compiled empty;
  REQUIRE_NOTHROW(empty = compile_policy("policy: { ramadan: {} }"));
  CHECK(empty.ok);
  CHECK(empty.diagnostics.empty());

  Compiled scalar;
  REQUIRE_NOTHROW(scalar = compile_policy("policy: { ramadan: 5 }"));
  CHECK_FALSE(scalar.ok);
  CHECK(scalar.mentions("ramadan takes overrides"));
}

TEST_CASE("a Ramadan override that is not { first, last } is an error, not a throw") {
  Compiled c;
  REQUIRE_NOTHROW(c = compile_policy("policy: { ramadan: { overrides: { 1448: 2027-02-09 } } }"));
  CHECK_FALSE(c.ok);
  REQUIRE(c.diagnostics.size() == 1);
  CHECK(c.diagnostics[0].message == "ramadan override 1448 takes { first: YYYY-MM-DD, last: YYYY-MM-DD }");
  CHECK(c.diagnostics[0].line == 1);
  CHECK(c.diagnostics[0].column == 41);
}
