// The volume watch's judgement (proxy/submit/volume_watch.h): surge against the usual rate of the
// hour, daily_max, and no surge alarm for an account without 7 days of history.
#include <catch2/catch.hpp>

#include "proxy/submit/volume_watch.h"

using proxy::judge_volume;
using proxy::StateStore;
using proxy::VolumeConfig;

namespace {
constexpr int64_t kToday = 20787;  // 2026-11-30

VolumeConfig limits(double factor, int64_t daily_max = 0, int window_min = 10) {
  VolumeConfig v;
  v.surge_factor = factor;
  v.daily_max = daily_max;
  v.window_min = window_min;
  return v;
}

// 7 days of this hour at 600 messages an hour: 100 in a usual 10-minute window.
StateStore::VolumeFigures usual_600_an_hour(int64_t recent) {
  StateStore::VolumeFigures f;
  f.same_hour_before = 7 * 600;
  f.recent = recent;
  f.today = recent;
  f.first_day = kToday - 30;
  return f;
}
}  // namespace

TEST_CASE("volume: the usual rate is the mean of this hour over the 7 days before, scaled to the window") {
  auto j = judge_volume(limits(5), usual_600_an_hour(0), kToday);
  CHECK(j.has_history);
  CHECK(j.usual_in_window == Approx(100));
}

TEST_CASE("volume: a window over surge_factor times the usual rate is a surge; at it, not") {
  CHECK(judge_volume(limits(5), usual_600_an_hour(501), kToday).surge);
  CHECK_FALSE(judge_volume(limits(5), usual_600_an_hour(500), kToday).surge);
}

TEST_CASE("volume: an account first counted less than 7 days ago never surges, however many it sends") {
  auto f = usual_600_an_hour(100000);
  f.first_day = kToday - 6;
  CHECK_FALSE(judge_volume(limits(5), f, kToday).has_history);
  CHECK_FALSE(judge_volume(limits(5), f, kToday).surge);
  f.first_day = kToday;  // its first day
  CHECK_FALSE(judge_volume(limits(5), f, kToday).surge);
  f.first_day = -1;  // nothing kept
  CHECK_FALSE(judge_volume(limits(5), f, kToday).surge);
}

TEST_CASE("volume: daily_max alarms on any day, the first included, once the day passes it") {
  auto f = usual_600_an_hour(10);
  f.first_day = kToday;
  f.today = 1000;
  CHECK_FALSE(judge_volume(limits(0, 1000), f, kToday).over_daily_max);
  f.today = 1001;
  CHECK(judge_volume(limits(0, 1000), f, kToday).over_daily_max);
}

TEST_CASE("volume: an hour that is usually silent counts as one message per window, so a handful is no surge") {
  StateStore::VolumeFigures f;
  f.first_day = kToday - 10;
  f.recent = 5;
  CHECK_FALSE(judge_volume(limits(5), f, kToday).surge);
  f.recent = 6;
  CHECK(judge_volume(limits(5), f, kToday).surge);
}

TEST_CASE("volume: limits at 0 are off") {
  auto f = usual_600_an_hour(1000000);
  f.today = 1000000;
  auto j = judge_volume(limits(0, 0), f, kToday);
  CHECK_FALSE(j.surge);
  CHECK_FALSE(j.over_daily_max);
}
