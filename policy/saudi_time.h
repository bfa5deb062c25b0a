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

}  // namespace policy
