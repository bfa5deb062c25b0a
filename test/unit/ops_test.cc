// What the ops subcommands share: who is named in their audit lines.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "proxy/ops/common.h"

namespace {

// Sets (or, with nullopt, unsets) an environment variable for one scope.
class EnvVar {
 public:
  EnvVar(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) saved_ = old;
    if (value) setenv(name, value->c_str(), 1);
    else unsetenv(name);
  }
  ~EnvVar() {
    if (saved_) setenv(name_, saved_->c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> saved_;
};

}  // namespace

TEST_CASE("the audit names the user behind sudo, not root") {
  EnvVar sudo("SUDO_USER", "alice"), user("USER", "root");
  CHECK(proxy::ops_user() == "alice");
}

TEST_CASE("without sudo the audit names $USER") {
  EnvVar sudo("SUDO_USER", std::nullopt), user("USER", "bob");
  CHECK(proxy::ops_user() == "bob");
}

TEST_CASE("with neither variable (a unit started by systemd) the audit names the uid") {
  EnvVar sudo("SUDO_USER", std::nullopt), user("USER", std::nullopt);
  CHECK(proxy::ops_user() == "uid " + std::to_string(getuid()));
}

TEST_CASE("an empty SUDO_USER does not hide $USER") {
  EnvVar sudo("SUDO_USER", ""), user("USER", "carol");
  CHECK(proxy::ops_user() == "carol");
}
