// Ramadan from ICU's Umm al-Qura calendar (policy/calendar.h).
#include "policy/calendar.h"

#include <unicode/calendar.h>
#include <unicode/gregocal.h>
#include <unicode/locid.h>
#include <unicode/timezone.h>

#include <memory>

namespace policy {

bool computed_ramadan(int hijri_year, int64_t& first, int64_t& last) {
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::Calendar> cal(
      icu::Calendar::createInstance(icu::TimeZone::getGMT()->clone(), icu::Locale("@calendar=islamic-umalqura"), status));
  if (U_FAILURE(status)) return false;
  auto day_of = [&](int month) {
    cal->clear();
    cal->set(UCAL_EXTENDED_YEAR, hijri_year);
    cal->set(UCAL_MONTH, month);
    cal->set(UCAL_DATE, 1);
    UDate ms = cal->getTime(status);
    return int64_t(ms / 86400000.0);  // the civil date's day number (midnight in GMT)
  };
  first = day_of(8);     // Ramadan (0-based month 8)
  last = day_of(9) - 1;  // the day before 1 Shawwal
  return U_SUCCESS(status);
}

}  // namespace policy
