// Who is reviewed (docs/policy.md "Campaign review"): accounts' review: and bank:, the root review: section.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "proxy/config/config.h"

namespace {

const char* kHash = "$argon2id$v=19$m=16384,t=3,p=1$KPp0qP74xOx/MV3f6tQNPw$BFbPvsHhaEZECTbO+UB4ptytLCejhsZf2dsKLE1Rgd8";

// The configuration with `accounts` (one per line: its name, a colon, its keys; senders SHOP-AD and
// SHOP unless the line gives its own) and `root` before them.
std::optional<proxy::Config> load(const std::string& accounts, const std::string& root, std::vector<proxy::ConfigError>& errors) {
  static int counter = 0;
  auto dir = std::filesystem::temp_directory_path() / ("hajib-review-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::create_directories(dir);
  std::string yaml = R"(listen: { smpp: "127.0.0.1:0", stats: "127.0.0.1:0" }
state: memory
upstreams:
  stc: { host: 127.0.0.1, port: 2776, system_id: hajib, password: pw }
routes:
  prefixes: { "96650": stc }
)" + root + "accounts:\n";
  for (size_t at = 0; at < accounts.size();) {
    size_t end = accounts.find('\n', at);
    std::string line = accounts.substr(at, end == std::string::npos ? std::string::npos : end - at);
    size_t colon = line.find(':');
    std::string senders = line.find("senders:") == std::string::npos ? "senders: { SHOP-AD: promotional, SHOP: service }, " : "";
    yaml += "  " + line.substr(0, colon) + ": { password_hash: \"" + kHash + "\", allow_ips: [ \"127.0.0.1/32\" ], " +
            senders + line.substr(colon + 1) + " }\n";
    at = end == std::string::npos ? accounts.size() : end + 1;
  }
  std::ofstream(dir / "hajib.yaml") << yaml;
  auto config = proxy::load_config((dir / "hajib.yaml").string(), errors);
  std::filesystem::remove_all(dir);
  return config;
}

std::optional<proxy::Config> load_ok(const std::string& accounts, const std::string& root = "") {
  std::vector<proxy::ConfigError> errors;
  auto config = load(accounts, root, errors);
  for (const auto& e : errors) INFO(e.to_string());
  REQUIRE(config);
  return config;
}

bool reviewed(const proxy::Config& c, const char* account) {
  return c.policy->reviews(account, policy::MessageClass::promotional);
}

}  // namespace

TEST_CASE("a private account's promotional messages are reviewed by default; its other classes never are") {
  auto c = load_ok("shop: entity: private");
  CHECK(reviewed(*c, "shop"));
  CHECK_FALSE(c->policy->reviews("shop", policy::MessageClass::service));
  CHECK_FALSE(c->policy->reviews("shop", policy::MessageClass::awareness));
}

TEST_CASE("government entities and banks are exempt by default") {
  auto c = load_ok("gov: entity: government, senders: { GOV: service }\nbank: entity: private, bank: true");
  CHECK_FALSE(reviewed(*c, "gov"));
  CHECK_FALSE(reviewed(*c, "bank"));
}

TEST_CASE("ops may turn review on for an exempt account, or off for any") {
  auto c = load_ok("bank: entity: private, bank: true, review: promotional\nshop: entity: private, review: off");
  CHECK(reviewed(*c, "bank"));
  CHECK_FALSE(reviewed(*c, "shop"));
}

TEST_CASE("review: and bank: take only their values, reported at their line") {
  std::vector<proxy::ConfigError> errors;
  CHECK_FALSE(load("shop: entity: private, review: always\nbank: entity: private, bank: maybe", "", errors));
  std::string all;
  for (const auto& e : errors) all += e.to_string() + "\n";
  CHECK_THAT(all, Catch::Contains("review 'always' is not promotional or off"));
  CHECK_THAT(all, Catch::Contains("bank must be true or false"));
}

TEST_CASE("the review section: 720 and 72 hours by default, each bounded") {
  auto c = load_ok("shop: entity: private");
  CHECK(c->review.approval_hours == 720);
  CHECK(c->review.pending_hours == 72);
  auto set = load_ok("shop: entity: private", "review: { approval_hours: 24, pending_hours: 6 }\n");
  CHECK(set->review.approval_hours == 24);
  CHECK(set->review.pending_hours == 6);
  std::vector<proxy::ConfigError> errors;
  CHECK_FALSE(load("shop: entity: private", "review: { pending_hours: 0, approve_hours: 3 }\n", errors));
  CHECK(errors.size() == 2);  // the bound, and the misspelt key
}
