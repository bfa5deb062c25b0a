// Hashing and comparing the short strings the policy looks up (account names, senders, word forms).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace policy {

// Eight bytes at a time, the last (partial) eight read as one overlapping or short load: no loop
// over single bytes, no call to memcpy with a variable size.
inline uint64_t hash_bytes(std::string_view s) {
  auto mix = [](uint64_t h, uint64_t v) {
    h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 31);
  };
  const char* p = s.data();
  const size_t n = s.size();
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    h = mix(h, v);
  }
  if (i == n) return h ^ (h >> 29);
  uint64_t tail;
  if (n >= 8) {
    std::memcpy(&tail, p + n - 8, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    tail = uint64_t(a) << 32 | b;
  } else {
    tail = uint64_t(static_cast<unsigned char>(p[0])) << 16 | uint64_t(static_cast<unsigned char>(p[n / 2])) << 8 |
           static_cast<unsigned char>(p[n - 1]);
  }
  h = mix(h, tail);
  return h ^ (h >> 29);
}

// Whether two short runs of bytes are equal, compared in place: no call to memcmp, whose cost
// is mostly the call for names and words of a few bytes.
inline bool same_bytes(const char* a, const char* b, size_t n) {
  for (; n >= 8; n -= 8, a += 8, b += 8) {
    uint64_t x, y;
    std::memcpy(&x, a, 8);
    std::memcpy(&y, b, 8);
    if (x != y) return false;
  }
  for (; n > 0; --n, ++a, ++b)
    if (*a != *b) return false;
  return true;
}
inline bool same_bytes(std::string_view a, std::string_view b) { return a.size() == b.size() && same_bytes(a.data(), b.data(), a.size()); }

}  // namespace policy
