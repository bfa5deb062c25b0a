// Billing as file 003 describes it: a price per part, and the share of each class an account pays
// (the sponsor pays the rest); money kept in whole units of 10^-8, never in binary floating point.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "policy/message.h"

namespace proxy {

// Money in units of 10^-8: a price has at most 6 decimals (file 003 prices a part at 0.006842 JOD)
// and a share is a whole percent of a multiple of it, so every figure of a bill is exact here.
// 128 bits: a billion parts at the largest price (below 10^9) still fits, with room for the sums.
using Money = __int128;
inline constexpr Money kMoneyUnit = 100000000;  // one currency unit
inline constexpr int kPriceDecimals = 6;

// "0.05" -> 5000000. Digits with at most kPriceDecimals decimals, below 10^9; nullopt otherwise
// (a price is read from its text, so that 0.1 is 0.1 and not the double nearest to it).
std::optional<Money> parse_price(std::string_view text);
// 7500000 -> "0.075": as many decimals as the value needs, at least two.
std::string format_money(Money m);

// Percent of each class (policy::MessageClass order) that an account pays.
using ClassShares = std::array<int, policy::kClassNames.size()>;
// File 003: independent departments pay all of every class; the others all of promotional (and
// internal) messages, half of awareness and transaction-status ones (docs/policy.md, "Billing").
ClassShares independent_shares();
ClassShares dependent_shares();

struct Bill {
  Money amount = 0, account_share = 0, sponsor_share = 0;
  Bill& operator+=(const Bill& b) {
    amount += b.amount;
    account_share += b.account_share;
    sponsor_share += b.sponsor_share;
    return *this;
  }
};
// `parts` at `price`, of which the account pays `percent` and the sponsor the rest.
Bill bill_of(int64_t parts, Money price, int percent);

// 2026Q4 -> the first and last day, "2026-10-01" and "2026-12-31"; nullopt for anything else.
std::optional<std::pair<std::string, std::string>> quarter_days(std::string_view quarter);

}  // namespace proxy
