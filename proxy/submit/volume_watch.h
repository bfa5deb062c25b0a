// The volume watch (seed 000 §7, docs/policy.md "Volume monitoring"): on the tick, each account
// with `volume:` is judged from the fleet's shared counters (its messages of the last window,
// of the day, and of the same hour over the 7 days before); an alarm raised shows in /metrics,
// the audit log and the daemon's log, and in surging(account) for the stage that holds the rest.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "proxy/config/config.h"
#include "proxy/customer/account.h"
#include "proxy/state/store.h"

namespace proxy {

struct Context;

// What the figures say against an account's limits, decided without I/O.
struct VolumeJudgement {
  bool has_history = false;    // 7 whole Saudi days since the account was first counted
  double usual_in_window = 0;  // the mean of this hour over the 7 days before, scaled to the window
  bool surge = false;          // the window holds more than surge_factor x max(usual_in_window, 1)
  bool over_daily_max = false; // the day's messages passed daily_max
};
VolumeJudgement judge_volume(const VolumeConfig& limits, const StateStore::VolumeFigures& figures, int64_t saudi_day);

class VolumeWatch {
 public:
  VolumeWatch(Context& ctx, Accounts& accounts) : ctx_(ctx), accounts_(accounts) {}
  // Every tick; each watched account is read once every kCheckMs, one store call at a time.
  void on_tick(uint64_t now_ms);
  // True while a surge or daily_max alarm is on for the account; on_surge says what to do then.
  bool surging(const std::string& account) const;
  OnSurge on_surge(const std::string& account) const;

  static constexpr uint64_t kCheckMs = 5000;

 private:
  void check(Account& account, uint64_t now_ms);
  void judged(const std::string& name, const StateStore::VolumeFigures& figures, int64_t unix_s);
  void raise(Account& account, const char* reason, const StateStore::VolumeFigures& f, const VolumeJudgement& j);
  void clear(Account& account, const char* reason, const StateStore::VolumeFigures& f);

  Context& ctx_;
  Accounts& accounts_;
  struct Pace {
    uint64_t next_ms = 0;
    bool asking = false;
  };
  std::map<std::string, Pace> pace_;
};

}  // namespace proxy
