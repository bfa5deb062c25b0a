// SMPP 3.4 time fields: "YYMMDDhhmmsstnnp", p '+'/'-' for an absolute time nn quarter hours from
// UTC, 'R' for a time relative to now.
#include "smpp/smpp_time.h"

namespace smpp {

namespace {

bool two_digits(std::string_view s, size_t at, int& out) {
  if (s[at] < '0' || s[at] > '9' || s[at + 1] < '0' || s[at + 1] > '9') return false;
  out = (s[at] - '0') * 10 + (s[at + 1] - '0');
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}

}  // namespace

std::optional<int64_t> smpp_time_to_unix(std::string_view f, int64_t now) {
  if (f.size() != 16) return std::nullopt;
  int yy, mo, dd, hh, mi, ss, nn;
  if (!two_digits(f, 0, yy) || !two_digits(f, 2, mo) || !two_digits(f, 4, dd) || !two_digits(f, 6, hh) ||
      !two_digits(f, 8, mi) || !two_digits(f, 10, ss) || f[12] < '0' || f[12] > '9' || !two_digits(f, 13, nn))
    return std::nullopt;
  if (f[15] == 'R')  // relative: years and months as 365 and 30 days, as SMSCs commonly read them
    return now + ((int64_t(yy) * 365 + mo * 30 + dd) * 24 + hh) * 3600 + int64_t(mi) * 60 + ss;
  if (f[15] != '+' && f[15] != '-') return std::nullopt;
  if (mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 23 || mi > 59 || ss > 59 || nn > 48) return std::nullopt;
  int64_t local = days_from_civil(2000 + yy, unsigned(mo), unsigned(dd)) * 86400 + hh * 3600 + mi * 60 + ss;
  int64_t offset = int64_t(nn) * 15 * 60;  // the local time is this far ahead of (+) or behind (-) UTC
  return f[15] == '+' ? local - offset : local + offset;
}

}  // namespace smpp
