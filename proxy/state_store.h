// Cross-message state shared by every proxy instance: receipt id map, kept deliveries, ported numbers.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/config.h"

namespace proxy {

struct Counters;

// Every call is asynchronous; callbacks run later on the loop thread, never inline, and are
// given `ok == false` when the store could not answer (down, error), so that callers choose
// their degraded behaviour. Keys share one hash tag per account so that Redis Cluster works.
class StateStore {
 public:
  using Done = std::function<void(bool ok)>;
  using Found = std::function<void(bool ok, std::optional<std::string> value)>;
  using Listed = std::function<void(bool ok, std::vector<std::pair<std::string, std::string>> items)>;

  virtual ~StateStore() = default;
  virtual void remember_receipt(std::string_view upstream, std::string_view operator_id, std::string_view value,
                                int ttl_s) = 0;
  virtual void find_receipt(std::string_view upstream, std::string_view operator_id, Found done) = 0;

  // Deliveries (receipts, MOs) kept for an account that has no receiver bound. put answers
  // false when the account already has `max` kept or the store is down.
  virtual void keep_delivery(std::string_view account, std::string_view key, std::string_view pdu, int max, int ttl_s,
                             Done done) = 0;
  virtual void kept_deliveries(std::string_view account, Listed done) = 0;
  virtual void forget_delivery(std::string_view account, std::string_view key) = 0;

  // Ported numbers are read whole and kept in the proxy's memory, reloaded when their version
  // (bumped by `hajib ports`) changes: routing then costs no round trip per message.
  virtual void ported_version(Found done) = 0;
  virtual void ported_numbers(Listed done) = 0;

  virtual bool up() const = 0;
  virtual std::string describe() const = 0;
  virtual void close() = 0;
};

// Redis (async hiredis on the loop) or in-process memory, from the config. The instance number
// for message ids comes from the same store, once, at start-up (blocking).
std::unique_ptr<StateStore> make_state_store(uv_loop_t* loop, const Config& config, Counters& counters);
// 20-bit instance number: Redis INCR (unique across instances and restarts), or random in memory mode.
std::optional<uint32_t> claim_instance_number(const Config& config, std::string& error);

// Ops helpers' blocking access to ported numbers (hajib ports ...); both bump the version, which
// running proxies poll, and return the new version in `version`.
bool set_ported(const Config& config, const std::vector<std::pair<std::string, std::string>>& numbers,
                long long& version, std::string& error);
bool remove_ported(const Config& config, const std::vector<std::string>& numbers, long long& version, std::string& error);

std::unique_ptr<StateStore> make_memory_store(uv_loop_t* loop);
std::unique_ptr<StateStore> make_redis_store(uv_loop_t* loop, const Config& config, Counters& counters);

// Key names, in one place.
namespace keys {
std::string receipt(std::string_view upstream, std::string_view operator_id);
std::string kept(std::string_view account);
inline constexpr const char* ported = "hajib:ported";
inline constexpr const char* ported_version = "hajib:ported:version";
inline constexpr const char* instance = "hajib:instance";
}  // namespace keys

}  // namespace proxy
