// Billing (proxy/config/billing.h, file 003): prices read exactly, shares split without rounding,
// quarters, and the config's billing: and accounts' billing: / volume: keys.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "proxy/config/billing.h"
#include "proxy/config/config.h"

using proxy::bill_of;
using proxy::format_money;
using proxy::Money;
using proxy::parse_price;
using policy::MessageClass;

TEST_CASE("billing: a price is read from its text, to the last of 6 decimals") {
  CHECK(parse_price("0.05") == Money(5000000));
  CHECK(parse_price("0.006842") == Money(684200));  // file 003's price per message, in JOD
  CHECK(parse_price("12") == 12 * proxy::kMoneyUnit);
  CHECK(parse_price("0.1") == Money(10000000));     // 0.1 exactly, not the double nearest to it
}

TEST_CASE("billing: a price that is not a plain decimal of at most 6 decimals is refused") {
  for (const char* bad : {"", ".5", "5.", "-1", "1e3", "0.0000001", "1,5", "abc", "1.2.3", "1000000000"}) {
    INFO(bad);
    CHECK_FALSE(parse_price(bad));
  }
}

TEST_CASE("billing: money prints exactly, with as many decimals as it needs and at least two") {
  CHECK(format_money(5000000) == "0.05");
  CHECK(format_money(7500000) == "0.075");
  CHECK(format_money(342100) == "0.003421");
  CHECK(format_money(1) == "0.00000001");
  CHECK(format_money(3 * proxy::kMoneyUnit) == "3.00");
  CHECK(format_money(0) == "0.00");
}

TEST_CASE("billing: a dependent account pays half of service (transaction status), the sponsor the other half") {
  auto b = bill_of(3, *parse_price("0.05"), proxy::dependent_shares()[size_t(MessageClass::service)]);
  CHECK(format_money(b.amount) == "0.15");
  CHECK(format_money(b.account_share) == "0.075");
  CHECK(format_money(b.sponsor_share) == "0.075");
}

TEST_CASE("billing: half of an odd number of parts at file 003's price is exact, and the two shares add up") {
  auto b = bill_of(7, *parse_price("0.006842"), 50);
  CHECK(format_money(b.amount) == "0.047894");
  CHECK(format_money(b.account_share) == "0.023947");
  CHECK(b.account_share + b.sponsor_share == b.amount);
  auto third = bill_of(1, *parse_price("0.000001"), 33);  // the smallest price at an odd percent
  CHECK(format_money(third.account_share) == "0.00000033");
  CHECK(third.account_share + third.sponsor_share == third.amount);
}

TEST_CASE("billing: file 003's shares: independent pays every class in full; dependent half of awareness and transaction status") {
  for (int p : proxy::independent_shares()) CHECK(p == 100);
  auto d = proxy::dependent_shares();
  CHECK(d[size_t(MessageClass::promotional)] == 100);
  CHECK(d[size_t(MessageClass::service)] == 50);
  CHECK(d[size_t(MessageClass::awareness)] == 50);
  CHECK(d[size_t(MessageClass::warning)] == 50);
  CHECK(d[size_t(MessageClass::personal)] == 100);
}

TEST_CASE("billing: a million (and a billion) parts at the largest price stay exact (no overflow, no float)") {
  auto b = bill_of(1000000, *parse_price("999999999.999999"), 50);
  CHECK(b.account_share + b.sponsor_share == b.amount);
  CHECK(format_money(b.amount) == "999999999999999.00");
  CHECK(format_money(b.account_share) == "499999999999999.50");
  CHECK(format_money(bill_of(1000000000, *parse_price("999999999.999999"), 100).amount) == "999999999999999000.00");
  CHECK(format_money(bill_of(7, *parse_price("999999999.999999"), 33).account_share) == "2309999999.99999769");
}

TEST_CASE("billing: a quarter is three calendar months; anything else is refused") {
  CHECK(proxy::quarter_days("2026Q4") == std::pair<std::string, std::string>{"2026-10-01", "2026-12-31"});
  CHECK(proxy::quarter_days("2027Q1") == std::pair<std::string, std::string>{"2027-01-01", "2027-03-31"});
  CHECK(proxy::quarter_days("2026Q2")->second == "2026-06-30");
  for (const char* bad : {"2026Q5", "2026Q0", "26Q4", "2026-Q4", "Q4", ""}) CHECK_FALSE(proxy::quarter_days(bad));
}

namespace {
const char* kHash = "$argon2id$v=19$m=16384,t=3,p=1$KPp0qP74xOx/MV3f6tQNPw$BFbPvsHhaEZECTbO+UB4ptytLCejhsZf2dsKLE1Rgd8";

std::optional<proxy::Config> load(const std::string& root_extra, const std::string& account_extra,
                                  std::vector<proxy::ConfigError>& errors) {
  auto dir = std::filesystem::temp_directory_path() / ("hajib-billing-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "hajib.yaml") << "listen: { smpp: \"127.0.0.1:0\", stats: \"127.0.0.1:0\" }\nstate: memory\n"
                                    << "upstreams:\n  stc: { host: 127.0.0.1, port: 2776, system_id: hajib, password: pw }\n"
                                    << "routes:\n  prefixes: { \"96650\": stc }\n" << root_extra
                                    << "accounts:\n  acme: { password_hash: \"" << kHash
                                    << "\", allow_ips: [ \"127.0.0.1/32\" ], entity: private, senders: { ACME: service }"
                                    << account_extra << " }\n";
  auto config = proxy::load_config((dir / "hajib.yaml").string(), errors);
  std::filesystem::remove_all(dir);
  return config;
}
}  // namespace

TEST_CASE("config: billing and an account's billing and volume load; an account without them is dependent and unwatched") {
  std::vector<proxy::ConfigError> errors;
  auto c = load("billing: { price_per_part: 0.05, currency: SAR }\n", "", errors);
  REQUIRE(c);
  CHECK(c->billing.price_per_part == *parse_price("0.05"));
  CHECK(c->billing.currency == "SAR");
  CHECK(c->account("acme")->billing == proxy::dependent_shares());
  CHECK_FALSE(c->account("acme")->volume.watched());

  auto w = load("", ", billing: { promotional: 80, awareness: 0 }, volume: { daily_max: 500, surge_factor: 2.5, window_min: 15, on_surge: hold }", errors);
  REQUIRE(w);
  const auto& a = *w->account("acme");
  CHECK(a.billing[size_t(MessageClass::promotional)] == 80);
  CHECK(a.billing[size_t(MessageClass::awareness)] == 0);
  CHECK(a.billing[size_t(MessageClass::service)] == 100);  // not named: paid in full
  CHECK(a.volume.daily_max == 500);
  CHECK(a.volume.surge_factor == 2.5);
  CHECK(a.volume.window_min == 15);
  CHECK(a.volume.on_surge == proxy::OnSurge::hold);
  CHECK(load("", ", billing: independent", errors)->account("acme")->billing == proxy::independent_shares());
}

TEST_CASE("config: a wrong billing or volume value is an error at its place") {
  for (auto [root, account, says] : std::initializer_list<std::tuple<const char*, const char*, const char*>>{
           {"billing: { price_per_part: 0.0000001, currency: SAR }\n", "", "at most 6 decimals"},
           {"billing: { price_per_part: 0.05 }\n", "", "needs price_per_part and currency"},
           {"", ", billing: sponsored", "independent, dependent"},
           {"", ", billing: { marketing: 50 }", "not a message class"},
           {"", ", billing: { service: 150 }", "from 0 to 100"},
           {"", ", volume: { surge_factor: 0.5 }", "from 1 to 1000"},
           {"", ", volume: { window_min: 90 }", "between 1 and 60"},
           {"", ", volume: { on_surge: block }", "alert or hold"},
           {"", ", volume: { daily: 5 }", "unknown key 'daily'"}}) {
    std::vector<proxy::ConfigError> errors;
    INFO(root << account);
    CHECK_FALSE(load(root, account, errors));
    bool found = false;
    for (const auto& e : errors) found = found || e.to_string().find(says) != std::string::npos;
    CHECK(found);
  }
}
