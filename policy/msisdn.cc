// Number normalisation (REGULATIONS.md section 8).
#include "policy/msisdn.h"

#include <algorithm>

namespace policy {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Strips the international or national prefix; what remains must be 5 + 8 digits.
std::string_view subscriber_part(std::string_view s) {
  if (s.starts_with("+966")) return s.substr(4);
  if (s.starts_with("00966")) return s.substr(5);
  if (s.starts_with("966") && s.size() == 12) return s.substr(3);
  if (s.starts_with("0") && s.size() == 10) return s.substr(1);
  return s;
}

}  // namespace

bool is_saudi_mobile(std::string_view input) {
  std::string_view subscriber = subscriber_part(input);
  return subscriber.size() == 9 && subscriber[0] == '5' && all_digits(subscriber);
}

std::optional<std::string> normalize_msisdn(std::string_view input) {
  if (!is_saudi_mobile(input)) return std::nullopt;
  std::string_view subscriber = subscriber_part(input);
  std::string out = "966";
  out.append(subscriber);
  return out;
}

}  // namespace policy
