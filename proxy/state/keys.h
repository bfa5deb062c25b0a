// Every Redis key Hajib writes: one function per row of keys.def (docs/state.md describes them). Keys of one
// account share the hash tag {acct:NAME}, so that Redis Cluster keeps an account's keys together.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace proxy {

namespace keys {
// Receipt mappings live in hashes of about a hundred fields each (Redis keeps those compact):
// the bucket is a hash of the operator id, `buckets` the same on every instance.
uint32_t receipt_bucket_of(std::string_view operator_id, uint32_t buckets);
#define X(name, spelling, parameters, arguments) std::string name parameters;
#include "proxy/state/keys.def"
#undef X
// What matches every awareness counter of one number, in every account (`hajib forget`).
std::string awareness_of_number_pattern(std::string_view number_hash);
inline constexpr int kHourlyTtlS = 9 * 86400;    // the 7 days before today, today, and a margin
inline constexpr int kMinutesTtlS = 3 * 3600;    // a window reaches at most 60 minutes back
inline constexpr int kSinceTtlS = 8 * 86400;     // an account silent for 8 days starts again without history
inline constexpr int kFlagsTtlS = 100 * 86400;   // a quarter's report, and a margin
inline constexpr int kFlagExamples = 5;          // masked examples kept per account, day and rule
inline constexpr int kClaimMs = 2000;  // a held message's claim lasts this long unless renewed
inline constexpr const char* ported = "hajib:ported";
inline constexpr const char* ported_version = "hajib:ported:version";
inline constexpr const char* instance = "hajib:instance";
inline constexpr const char* present = "hajib:present";  // gone when Redis lost its data
inline constexpr const char* review_version = "hajib:review:version";  // bumped by every campaign decision
inline constexpr const char* review_expiry_lock = "hajib:review:expiring";  // the instance expiring pending campaigns
// The keys above have no hash tag: each is only ever touched alone.
}  // namespace keys

}  // namespace proxy
