// Slows down password guessing: an address with too many failed binds is refused for a while.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

namespace proxy {

class BindGuard {
 public:
  BindGuard(int max_failures, int window_s, int block_s) : max_(max_failures), window_ms_(uint64_t(window_s) * 1000), block_ms_(uint64_t(block_s) * 1000) {}

  bool blocked(const std::string& address, uint64_t now_ms);
  void failed(const std::string& address, uint64_t now_ms);
  void succeeded(const std::string& address) { entries_.erase(address); }

 private:
  struct Entry {
    int failures = 0;
    uint64_t window_start_ms = 0;
    uint64_t blocked_until_ms = 0;
  };
  void forget_stale(uint64_t now_ms);

  int max_;
  uint64_t window_ms_, block_ms_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace proxy
