// Redis key formats (proxy/state/keys.h).
#include "proxy/state/keys.h"

#include <fmt/format.h>

namespace proxy {

namespace keys {
uint32_t receipt_bucket_of(std::string_view operator_id, uint32_t buckets) {
  uint32_t h = 2166136261u;  // FNV-1a: stable across instances, versions and platforms
  for (unsigned char c : operator_id) h = (h ^ c) * 16777619u;
  return h % buckets;
}
#define X(name, spelling, parameters, arguments) \
  std::string name parameters { return fmt::format(spelling, HAJIB_KEY_ARGUMENTS arguments); }
#define HAJIB_KEY_ARGUMENTS(...) __VA_ARGS__
#include "proxy/state/keys.def"
#undef HAJIB_KEY_ARGUMENTS
#undef X
std::string awareness_of_number_pattern(std::string_view number_hash) { return fmt::format("hajib:*:aw:*:{}", number_hash); }
}  // namespace keys

}  // namespace proxy
