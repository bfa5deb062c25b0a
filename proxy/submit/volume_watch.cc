// The volume watch (proxy/submit/volume_watch.h).
#include "proxy/submit/volume_watch.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "policy/saudi_time.h"
#include "proxy/context.h"
#include "proxy/log.h"

namespace proxy {

namespace {
constexpr int kHistoryDays = 7;
}  // namespace

// An account with fewer than 7 days behind it has no usual rate yet: only daily_max can alarm.
// A quiet hour (fewer messages than one per window, on average) counts as one per window, so that
// a handful of messages at 03:00 is not a surge but a burst there is.
VolumeJudgement judge_volume(const VolumeConfig& limits, const StateStore::VolumeFigures& f, int64_t saudi_day) {
  VolumeJudgement j;
  j.has_history = f.first_day >= 0 && saudi_day - f.first_day >= kHistoryDays;
  j.usual_in_window = double(f.same_hour_before) / kHistoryDays * limits.window_min / 60.0;
  j.surge = limits.surge_factor > 0 && j.has_history && double(f.recent) > limits.surge_factor * std::max(j.usual_in_window, 1.0);
  j.over_daily_max = limits.daily_max > 0 && f.today > limits.daily_max;
  return j;
}

void VolumeWatch::on_tick(uint64_t now_ms) {
  for (auto& [name, account] : accounts_) {
    if (!account.config || !account.config->volume.watched()) {
      if (account.tally.volume_surge || account.tally.volume_over_daily_max) {
        account.tally.volume_surge = account.tally.volume_over_daily_max = false;  // a reload took the watch away
        log::info("volume watch off for account {}: its alarms are cleared", name);
      }
      continue;
    }
    check(account, now_ms);
  }
}

void VolumeWatch::check(Account& account, uint64_t now_ms) {
  Pace& pace = pace_[account.name];
  if (pace.asking || now_ms < pace.next_ms || !ctx_.store->up()) return;
  pace.asking = true;
  pace.next_ms = now_ms + kCheckMs;
  const int64_t unix_s = ctx_.wall_ms() / 1000;
  ctx_.store->volume_figures(account.name, unix_s, account.config->volume.window_min,
                             [this, name = account.name, unix_s](bool ok, StateStore::VolumeFigures f) {
                               pace_[name].asking = false;
                               if (ok) judged(name, f, unix_s);
                             });
}

void VolumeWatch::judged(const std::string& name, const StateStore::VolumeFigures& f, int64_t unix_s) {
  auto it = accounts_.find(name);
  if (it == accounts_.end() || !it->second.config) return;
  Account& account = it->second;
  const VolumeJudgement j = judge_volume(account.config->volume, f, policy::saudi_time(unix_s).day);
  AccountTally& t = account.tally;
  if (j.surge && !t.volume_surge) {
    t.volume_surge = true;
    ++t.volume_surges;
    raise(account, "surge", f, j);
  } else if (!j.surge && t.volume_surge) {
    t.volume_surge = false;
    clear(account, "surge", f);
  }
  if (j.over_daily_max && !t.volume_over_daily_max) {
    t.volume_over_daily_max = true;
    ++t.volume_daily_max_passed;
    raise(account, "daily_max", f, j);
  } else if (!j.over_daily_max && t.volume_over_daily_max) {
    t.volume_over_daily_max = false;  // a new Saudi day, or a daily_max raised by a reload
    clear(account, "daily_max", f);
  }
}

void VolumeWatch::raise(Account& account, const char* reason, const StateStore::VolumeFigures& f, const VolumeJudgement& j) {
  const VolumeConfig& v = account.config->volume;
  ++ctx_.counters().volume_alarms;
  const char* action = v.on_surge == OnSurge::hold ? "hold" : "alert";
  log::warn_limited("volume alarm ({}) for account {}: {} messages in the last {} min (usual {:.1f}), {} today; on_surge {}",
                    reason, account.name, f.recent, v.window_min, j.usual_in_window, f.today, action);
  ctx_.audit.event(ctx_.wall_ms(), "volume_alarm",
                   {{"account", account.name}, {"reason", reason}, {"on", true}, {"window_min", v.window_min},
                    {"window_messages", f.recent}, {"usual_in_window", j.usual_in_window}, {"surge_factor", v.surge_factor},
                    {"today", f.today}, {"daily_max", v.daily_max}, {"on_surge", action}});
}

void VolumeWatch::clear(Account& account, const char* reason, const StateStore::VolumeFigures& f) {
  log::info("volume alarm ({}) for account {} cleared: {} messages in the last {} min, {} today", reason, account.name,
            f.recent, account.config->volume.window_min, f.today);
  ctx_.audit.event(ctx_.wall_ms(), "volume_alarm",
                   {{"account", account.name}, {"reason", reason}, {"on", false}, {"window_messages", f.recent}, {"today", f.today}});
}

bool VolumeWatch::surging(const std::string& account) const {
  auto it = accounts_.find(account);
  return it != accounts_.end() && it->second.surging();
}

OnSurge VolumeWatch::on_surge(const std::string& account) const {
  auto it = accounts_.find(account);
  return it != accounts_.end() && it->second.config ? it->second.config->volume.on_surge : OnSurge::alert;
}

}  // namespace proxy
