// The Islamic calendar Saudi Arabia keeps (Umm al-Qura), as far as the rules need it: Ramadan.
#pragma once

#include <cstdint>

namespace policy {

// The Hijri years whose Ramadan is computed; a policy may override any of them.
inline constexpr int kFirstHijriYear = 1440;  // 2018
inline constexpr int kLastHijriYear = 1480;   // 2058

// Ramadan (month 9) of a Hijri year as Saudi calendar days (days since 1970-01-01 in UTC+3),
// first and last, from ICU's Umm al-Qura calendar. False if ICU cannot say.
bool computed_ramadan(int hijri_year, int64_t& first, int64_t& last);

}  // namespace policy
