// A read cursor over one PDU body that never looks outside it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace smpp {

// Reads fields of a PDU body strictly inside its bounds.
class Cursor {
 public:
  Cursor(const uint8_t* p, const uint8_t* end) : p_(p), end_(end) {}
  bool cstring(size_t max_with_nul) {
    size_t avail = std::min(size_t(end_ - p_), max_with_nul);
    const void* nul = std::memchr(p_, 0, avail);
    if (!nul) return fail();
    p_ = static_cast<const uint8_t*>(nul) + 1;
    return true;
  }
  // The same, viewing the string read (without its NUL).
  bool cstring(size_t max_with_nul, std::string_view& out) {
    const uint8_t* start = p_;
    if (!cstring(max_with_nul)) return false;
    out = std::string_view(reinterpret_cast<const char*>(start), size_t(p_ - start - 1));
    return true;
  }
  bool bytes(size_t n, std::string_view& out) {
    const uint8_t* start = p_;
    if (!skip(n)) return false;
    out = std::string_view(reinterpret_cast<const char*>(start), n);
    return true;
  }
  bool skip(size_t n) {
    if (size_t(end_ - p_) < n) return fail();
    p_ += n;
    return true;
  }
  bool u8(uint8_t& v) {
    if (p_ >= end_) return fail();
    v = *p_++;
    return true;
  }
  const uint8_t* pos() const { return p_; }
  const uint8_t* end() const { return end_; }
  bool ok() const { return ok_; }

 private:
  bool fail() { return ok_ = false; }
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

}  // namespace smpp
