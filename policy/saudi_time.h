// Saudi time (Asia/Riyadh: UTC+3, no daylight saving) as calendar days and minutes of the day.
#pragma once

#include <cstdint>

namespace policy {

inline constexpr int64_t kSaudiOffsetSeconds = 3 * 3600;

struct SaudiTime {
  int64_t day = 0;  // days since 1970-01-01 on the Saudi calendar
  int minute = 0;   // 0..1439
};

inline SaudiTime saudi_time(int64_t unix_seconds) {
  int64_t local = unix_seconds + kSaudiOffsetSeconds;
  int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
  return SaudiTime{day, int((local - day * 86400) / 60)};
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
constexpr int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}

struct CivilDate {
  int64_t year;
  unsigned month, day;
};

// The date of a day since 1970-01-01 (Howard Hinnant's civil_from_days, the inverse of the above).
constexpr CivilDate civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = unsigned(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{int64_t(yoe) + era * 400 + (m <= 2), m, d};
}

constexpr bool is_leap_year(int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

constexpr unsigned days_in_month(int64_t y, unsigned m) {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap_year(y) ? 29 : kDays[m - 1];
}

}  // namespace policy

#include <charconv>
#include <fmt/format.h>
#include <string>
#include <optional>
#include <string_view>

namespace policy {

// "2027-02-20T11:59:00+03:00", "...Z", or without an offset (then Saudi time); seconds optional.
// A date or time that does not exist (February 30, 25:00, month 13) is refused, never rolled over.
inline std::optional<int64_t> parse_instant(std::string_view s) {
  auto number = [&](size_t at, size_t len, int& out) {
    if (at + len > s.size()) return false;
    auto [p, ec] = std::from_chars(s.data() + at, s.data() + at + len, out);
    return ec == std::errc() && p == s.data() + at + len;
  };
  int y, mo, d, h, mi, sec = 0;
  if (s.size() < 16 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':') return std::nullopt;
  if (!number(0, 4, y) || !number(5, 2, mo) || !number(8, 2, d) || !number(11, 2, h) || !number(14, 2, mi)) return std::nullopt;
  size_t at = 16;
  if (at < s.size() && s[at] == ':') {
    if (!number(at + 1, 2, sec)) return std::nullopt;
    at += 3;
  }
  int64_t offset = kSaudiOffsetSeconds;
  if (at < s.size()) {
    if (s[at] == 'Z' && at + 1 == s.size()) offset = 0;
    else if ((s[at] == '+' || s[at] == '-') && s.size() == at + 6 && s[at + 3] == ':') {
      int oh, om;
      if (!number(at + 1, 2, oh) || !number(at + 4, 2, om)) return std::nullopt;
      if (oh > 14 || om > 59) return std::nullopt;
      offset = (oh * 3600 + om * 60) * (s[at] == '-' ? -1 : 1);
    } else {
      return std::nullopt;
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || unsigned(d) > days_in_month(y, unsigned(mo)) || h > 23 || mi > 59 || sec > 59)
    return std::nullopt;
  return days_from_civil(y, unsigned(mo), unsigned(d)) * 86400 + h * 3600 + mi * 60 + sec - offset;
}

// An instant as ISO 8601 in Saudi time: 2027-02-20T11:59:00+03:00.
inline std::string saudi_iso(int64_t unix_seconds) {
  SaudiTime t = saudi_time(unix_seconds);
  CivilDate date = civil_from_days(t.day);
  int64_t second = unix_seconds + kSaudiOffsetSeconds - t.day * 86400 - t.minute * 60;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+03:00", date.year, date.month, date.day, t.minute / 60,
                     t.minute % 60, second);
}

}  // namespace policy
