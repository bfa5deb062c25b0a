// The failed-bind guard's rules (per address and per account, checks in flight count) and the verifier's memory.
#include <catch2/catch.hpp>

#include <uv.h>

#include <filesystem>
#include <fstream>

#include "proxy/customer/bind_guard.h"
#include "proxy/config/config.h"
#include "proxy/customer/passwords.h"

TEST_CASE("checks in flight count against the limit: binds sent at once start at most max checks") {
  proxy::BindGuard guard(5, 60, 300);
  int started = 0;
  for (int i = 0; i < 19; ++i) {
    if (guard.blocked("198.51.100.9", 1000)) continue;
    guard.started("198.51.100.9");
    ++started;
  }
  CHECK(started == 5);
  for (int i = 0; i < 5; ++i) guard.finished("198.51.100.9", false, 1100);
  CHECK(guard.blocked("198.51.100.9", 1100));  // five failures: blocked for block_s
  CHECK(guard.blocked("198.51.100.9", 1100 + 299'999));
  CHECK_FALSE(guard.blocked("198.51.100.9", 1100 + 300'000));
}

TEST_CASE("a check that ends well releases its place without clearing anything") {
  proxy::BindGuard guard(2, 60, 300);
  guard.failed("a", 1000);
  guard.started("a");
  CHECK(guard.blocked("a", 1000));  // one failure + one in flight = the limit
  guard.finished("a", true, 1500);
  CHECK_FALSE(guard.blocked("a", 1500));
  guard.failed("a", 2000);  // the first failure was not cleared by the success
  CHECK(guard.blocked("a", 2000));
}

TEST_CASE("a success does not clear the guesses made before it (the attacker's own account binding)") {
  proxy::BindGuard address(5, 60, 300);
  int wrong = 0, refused = 0;
  uint64_t t = 1'000'000;
  for (int i = 0; i < 20; ++i, t += 100) {
    // a correct bind of the attacker's own account between every guess
    if (!address.blocked("203.0.113.5", t)) {
      address.started("203.0.113.5");
      address.finished("203.0.113.5", true, t);
    }
    if (address.blocked("203.0.113.5", t)) {
      ++refused;
      continue;
    }
    address.started("203.0.113.5");
    address.finished("203.0.113.5", false, t);
    ++wrong;
  }
  CHECK(wrong == 5);
  CHECK(refused == 15);
}

TEST_CASE("failures against one account add up across addresses") {
  proxy::BindGuard account(5, 60, 300);
  proxy::BindGuard address(5, 60, 300);
  int checks = 0;
  for (int i = 0; i < 40; ++i) {
    std::string from = "10.0.0." + std::to_string(i + 1);
    if (address.blocked(from, 1000) || account.blocked("acme", 1000)) continue;
    address.started(from);
    account.started("acme");
    ++checks;
  }
  CHECK(checks == 5);
  CHECK_FALSE(account.blocked("shop", 1000));  // other accounts are not affected
}

TEST_CASE("a key's entry is kept while a check is in flight, even past the window") {
  proxy::BindGuard guard(1, 1, 0);
  guard.started("a");
  CHECK(guard.blocked("a", 10'000'000));
  guard.finished("a", true, 10'000'000);
  CHECK_FALSE(guard.blocked("a", 10'000'000));
}

TEST_CASE("limits.bind_failures.account_max defaults to max and can be set apart") {
  auto dir = std::filesystem::temp_directory_path() / ("hajib-guard-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto load = [&](const std::string& limits) {
    std::ofstream(dir / "hajib.yaml") << "listen: { smpp: \"127.0.0.1:0\", stats: \"127.0.0.1:0\" }\nstate: memory\n"
                                      << "limits: { bind_failures: " << limits << " }\n"
                                      << "upstreams:\n  stc: { host: 127.0.0.1, port: 2776, system_id: hajib, password: pw }\n"
                                      << "routes:\n  prefixes: { \"96650\": stc }\n";
    std::vector<proxy::ConfigError> errors;
    auto config = proxy::load_config((dir / "hajib.yaml").string(), errors);
    for (const auto& e : errors) INFO(e.to_string());
    REQUIRE(config);
    return config->limits;
  };
  CHECK(load("{ max: 7 }").bind_failures_account_max == 7);
  CHECK(load("{ max: 7, account_max: 20 }").bind_failures_account_max == 20);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the verifier remembers only a password that verified, and only for its hash") {
  REQUIRE(proxy::passwords_init());
  uv_loop_t loop;
  uv_loop_init(&loop);
  uint64_t runs = 0;
  proxy::BindVerifier verifier(&loop, runs);
  std::string hash = proxy::hash_password("acme-pw");
  int answers = 0;
  bool wrong_ok = true, right_ok = false;
  verifier.verify("acme", hash, "guess", [&](bool ok) { wrong_ok = ok, ++answers; });
  verifier.verify("acme", hash, "acme-pw", [&](bool ok) { right_ok = ok, ++answers; });
  CHECK(answers == 0);  // never inline: the loop answers
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(answers == 2);
  CHECK_FALSE(wrong_ok);
  CHECK(right_ok);
  CHECK(runs == 2);
  CHECK(verifier.remembered("acme", hash, "acme-pw"));
  CHECK_FALSE(verifier.remembered("acme", hash, "guess"));
  CHECK_FALSE(verifier.remembered("shop", hash, "acme-pw"));
  CHECK_FALSE(verifier.remembered("acme", proxy::hash_password("acme-pw"), "acme-pw"));  // a new hash forgets
  CHECK(uv_loop_close(&loop) == 0);
}
