// Failed-bind accounting per key (remote address or account), checks in flight included.
#include "proxy/customer/bind_guard.h"

namespace proxy {

bool BindGuard::blocked(const std::string& key, uint64_t now_ms) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  const Entry& e = it->second;
  return e.blocked_until_ms > now_ms || failures_in_window(e, now_ms) + e.in_flight >= max_;
}

bool BindGuard::clean(const std::string& key, uint64_t now_ms) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return true;
  const Entry& e = it->second;
  return e.blocked_until_ms <= now_ms && failures_in_window(e, now_ms) == 0 && e.in_flight == 0;
}

void BindGuard::started(const std::string& key) { ++entries_[key].in_flight; }

void BindGuard::finished(const std::string& key, bool ok, uint64_t now_ms) {
  if (auto it = entries_.find(key); it != entries_.end() && it->second.in_flight > 0) --it->second.in_flight;
  if (!ok) failed(key, now_ms);
}

void BindGuard::failed(const std::string& key, uint64_t now_ms) {
  if (entries_.size() > 100000) forget_stale(now_ms);  // a scan of many addresses must not grow memory without bound
  Entry& e = entries_[key];
  if (now_ms - e.window_start_ms > window_ms_) {
    e.failures = 0;
    e.window_start_ms = now_ms;
  }
  if (++e.failures >= max_) {
    e.blocked_until_ms = now_ms + block_ms_;
    e.failures = 0;
  }
}

void BindGuard::forget_stale(uint64_t now_ms) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    const Entry& e = it->second;
    bool stale = e.in_flight == 0 && e.blocked_until_ms <= now_ms && now_ms - e.window_start_ms > window_ms_;
    it = stale ? entries_.erase(it) : std::next(it);
  }
}

}  // namespace proxy
