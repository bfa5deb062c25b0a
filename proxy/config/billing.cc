// Billing arithmetic (proxy/config/billing.h): prices read from text, shares in whole units.
#include "proxy/config/billing.h"

#include <fmt/format.h>

namespace proxy {

std::optional<Money> parse_price(std::string_view text) {
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot), fraction = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  auto digits = [](std::string_view s) { return s.find_first_not_of("0123456789") == std::string_view::npos; };
  if (whole.empty() || whole.size() > 9 || !digits(whole) || !digits(fraction) || fraction.size() > size_t(kPriceDecimals) ||
      (dot != std::string_view::npos && fraction.empty()))
    return std::nullopt;
  Money m = 0;
  for (char c : whole) m = m * 10 + (c - '0');
  m *= kMoneyUnit;
  Money place = kMoneyUnit / 10;
  for (char c : fraction) {
    m += (c - '0') * place;
    place /= 10;
  }
  return m;
}

std::string format_money(Money m) {
  std::string sign = m < 0 ? "-" : "";
  if (m < 0) m = -m;
  std::string fraction = fmt::format("{:08}", int64_t(m % kMoneyUnit));
  while (fraction.size() > 2 && fraction.back() == '0') fraction.pop_back();
  // The whole units as decimal digits, most significant last (they may pass 64 bits).
  std::string whole;
  for (Money w = m / kMoneyUnit; w > 0 || whole.empty(); w /= 10) whole.push_back(char('0' + int(w % 10)));
  return fmt::format("{}{}.{}", sign, std::string(whole.rbegin(), whole.rend()), fraction);
}

namespace {
ClassShares shares_by_class(int promotional, int service, int awareness, int warning, int personal) {
  ClassShares s{};
  s[size_t(policy::MessageClass::promotional)] = promotional;
  s[size_t(policy::MessageClass::service)] = service;
  s[size_t(policy::MessageClass::awareness)] = awareness;
  s[size_t(policy::MessageClass::warning)] = warning;
  s[size_t(policy::MessageClass::personal)] = personal;
  return s;
}
}  // namespace

ClassShares independent_shares() { return shares_by_class(100, 100, 100, 100, 100); }
// service is file 003's "transaction status"; awareness and warning its "awareness and guidance";
// personal is none of its classes and is charged in full, as everything not named half is.
ClassShares dependent_shares() { return shares_by_class(100, 50, 50, 50, 100); }

// A price has at most 6 decimals (a multiple of 100 units) and a percent is whole, so the
// account's share, amount * percent / 100, is a whole number of units: nothing is rounded.
Bill bill_of(int64_t parts, Money price, int percent) {
  Bill b;
  b.amount = Money(parts) * price;
  b.account_share = b.amount / 100 * percent + b.amount % 100 * percent / 100;
  b.sponsor_share = b.amount - b.account_share;
  return b;
}

std::optional<std::pair<std::string, std::string>> quarter_days(std::string_view q) {
  if (q.size() != 6 || (q[4] != 'Q' && q[4] != 'q') || q[5] < '1' || q[5] > '4' ||
      q.substr(0, 4).find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  static constexpr const char* kFirst[] = {"01-01", "04-01", "07-01", "10-01"};
  static constexpr const char* kLast[] = {"03-31", "06-30", "09-30", "12-31"};
  std::string year(q.substr(0, 4));
  int n = q[5] - '1';
  return std::pair{fmt::format("{}-{}", year, kFirst[n]), fmt::format("{}-{}", year, kLast[n])};
}

}  // namespace proxy
