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
std::string receipt_bucket(std::string_view upstream, uint32_t bucket) {
  return fmt::format("hajib:rm:{{{}:{}}}", upstream, bucket);
}
std::string kept(std::string_view account) { return fmt::format("hajib:kept:{{acct:{}}}", account); }
std::string bucket(std::string_view account) { return fmt::format("hajib:{{acct:{}}}:tb", account); }
std::string opted_out(std::string_view account) { return fmt::format("hajib:{{acct:{}}}:optout", account); }
std::string awareness(std::string_view account, int64_t day, std::string_view sender, std::string_view number_hash) {
  return fmt::format("hajib:{{acct:{}}}:aw:{}:{}:{}", account, day, sender, number_hash);
}
std::string balance(std::string_view account) { return fmt::format("hajib:{{acct:{}}}:balance", account); }
std::string usage(std::string_view account, int64_t day) { return fmt::format("hajib:{{acct:{}}}:usage:{}", account, day); }
std::string usage_counted(std::string_view account) { return fmt::format("hajib:{{acct:{}}}:usage-counted", account); }
std::string held(std::string_view account, std::string_view message) {
  return fmt::format("hajib:{{acct:{}}}:parts:{}", account, message);
}
std::string held_owner(std::string_view account, std::string_view message) {
  return fmt::format("hajib:{{acct:{}}}:owner:{}", account, message);
}
std::string held_index(std::string_view account) { return fmt::format("hajib:{{acct:{}}}:held", account); }
std::string awareness_of_number_pattern(std::string_view number_hash) { return fmt::format("hajib:*:aw:*:{}", number_hash); }
}  // namespace keys

}  // namespace proxy
