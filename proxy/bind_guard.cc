// Failed-bind accounting per remote address.
#include "proxy/bind_guard.h"

namespace proxy {

bool BindGuard::blocked(const std::string& address, uint64_t now_ms) {
  auto it = entries_.find(address);
  return it != entries_.end() && it->second.blocked_until_ms > now_ms;
}

void BindGuard::failed(const std::string& address, uint64_t now_ms) {
  if (entries_.size() > 100000) forget_stale(now_ms);  // a scan of many addresses must not grow memory without bound
  Entry& e = entries_[address];
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
    bool stale = it->second.blocked_until_ms <= now_ms && now_ms - it->second.window_start_ms > window_ms_;
    it = stale ? entries_.erase(it) : std::next(it);
  }
}

}  // namespace proxy
