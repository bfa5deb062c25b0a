// Every Redis key Hajib writes, its format in one place (docs/state.md describes them). Keys of one
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
std::string receipt_bucket(std::string_view upstream, uint32_t bucket);
std::string kept(std::string_view account);
std::string bucket(std::string_view account);
std::string opted_out(std::string_view account);
std::string awareness(std::string_view account, int64_t day, std::string_view sender, std::string_view number_hash);
std::string balance(std::string_view account);
std::string usage(std::string_view account, int64_t day);
std::string usage_counted(std::string_view account);  // each instance's last batch counted
std::string held(std::string_view account, std::string_view message);
std::string held_owner(std::string_view account, std::string_view message);
std::string held_index(std::string_view account);
// What matches every awareness counter of one number, in every account (`hajib forget`).
std::string awareness_of_number_pattern(std::string_view number_hash);
inline constexpr int kClaimMs = 2000;  // a held message's claim lasts this long unless renewed
inline constexpr const char* ported = "hajib:ported";
inline constexpr const char* ported_version = "hajib:ported:version";
inline constexpr const char* instance = "hajib:instance";
inline constexpr const char* present = "hajib:present";  // gone when Redis lost its data
}  // namespace keys

}  // namespace proxy
