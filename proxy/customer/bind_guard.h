// Slows down password guessing: a key (an address, an account) with too many failed binds is refused for a while.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

namespace proxy {

// One guard counts one kind of key; the customers stage keeps one for addresses and one for accounts.
// A password check still running counts as a failure until it ends, so that binds sent all at
// once cannot start more checks than the limit. A success clears nothing: the failures of a
// key age out with the window, so an attacker's correct bind of its own account does not wipe
// the guesses it made at another from the same address.
class BindGuard {
 public:
  BindGuard(int max_failures, int window_s, int block_s)
      : max_(max_failures), window_ms_(uint64_t(window_s) * 1000), block_ms_(uint64_t(block_s) * 1000) {}

  // True while the key is blocked, or its failures in the window plus its checks in flight reached the limit.
  bool blocked(const std::string& key, uint64_t now_ms) const;
  // A password check starts for the key; it counts against the limit until finished().
  void started(const std::string& key);
  // The check ended: a wrong password is a failure, a right one only releases the check.
  void finished(const std::string& key, bool ok, uint64_t now_ms);
  // A refusal without a check (unknown system_id, address not allowed).
  void failed(const std::string& key, uint64_t now_ms);
  // No failure in the window, no check in flight, not blocked: a key with nothing against it.
  bool clean(const std::string& key, uint64_t now_ms) const;
  size_t keys() const { return entries_.size(); }

 private:
  struct Entry {
    int failures = 0;
    int in_flight = 0;
    uint64_t window_start_ms = 0;
    uint64_t blocked_until_ms = 0;
  };
  int failures_in_window(const Entry& e, uint64_t now_ms) const {
    return now_ms - e.window_start_ms > window_ms_ ? 0 : e.failures;
  }
  void forget_stale(uint64_t now_ms);

  int max_;
  uint64_t window_ms_, block_ms_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace proxy
