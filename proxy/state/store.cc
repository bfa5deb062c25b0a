// Store selection, key names and the blocking helpers used at start-up and by ops commands.
#include "proxy/state/store.h"

#include <memory>
#include <hiredis/hiredis.h>

#include "proxy/state/redis_sync.h"
#include <sodium.h>

#include <fmt/format.h>

namespace proxy {

std::string number_hash(const Config& config, std::string_view number) {
  // Without a configured key every instance still agrees, but the hash only hides numbers from
  // someone who does not know this default: start-up warns about it.
  static const unsigned char kDefaultKey[32] = {'h', 'a', 'j', 'i', 'b', '-', 'd', 'e', 'f', 'a', 'u', 'l', 't'};
  const unsigned char* key = config.number_key.size() == 32 ? reinterpret_cast<const unsigned char*>(config.number_key.data()) : kDefaultKey;
  unsigned char out[16];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(number.data()), number.size(), key, 32);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(32, '0');
  for (size_t i = 0; i < sizeof out; ++i) {
    hex[2 * i] = kHex[out[i] >> 4];
    hex[2 * i + 1] = kHex[out[i] & 15];
  }
  return hex;
}

std::unique_ptr<StateStore> make_state_store(uv_loop_t* loop, const Config& config, Counters& counters) {
  if (config.memory_state()) return make_memory_store(loop);
  return make_redis_store(loop, config, counters);
}

std::optional<uint32_t> claim_instance_number(const Config& config, std::string& error) {
  if (config.memory_state()) return randombytes_uniform(1u << 20);
  SyncRedis redis;
  if (!redis.connect(config, error)) return std::nullopt;
  auto reply = redis.command(error, "INCR %s", keys::instance);
  if (!reply) return std::nullopt;
  return uint32_t(reply->integer) & 0xFFFFF;
}

// One by one, `done` with the last answer; RedisStore pipelines them without a callback each.
void StateStore::remember_receipts(const std::vector<ReceiptMapping>& mappings, Done done) {
  if (mappings.empty()) return done(true);
  struct Tally {
    size_t left;
    bool ok = true;
    Done done;
  };
  auto tally = std::make_shared<Tally>(Tally{mappings.size(), true, std::move(done)});
  for (const ReceiptMapping& m : mappings)
    remember_receipt(m.upstream, m.operator_id, m.value, m.expires_unix_s, [tally](bool ok) {
      tally->ok = tally->ok && ok;
      if (--tally->left == 0) tally->done(tally->ok);
    });
}

namespace {
bool bump_ported_version(SyncRedis& redis, long long& version, std::string& error) {
  auto reply = redis.command(error, "INCR %s", keys::ported_version);
  if (reply) version = reply->integer;
  return reply != nullptr;
}
}  // namespace

bool set_ported(const Config& config, const std::vector<std::pair<std::string, std::string>>& numbers,
                long long& version, std::string& error) {
  SyncRedis redis;
  if (!redis.connect(config, error)) return false;
  for (const auto& [number, upstream] : numbers)
    redisAppendCommand(redis.c, "HSET %s %b %b", keys::ported, number.data(), number.size(), upstream.data(),
                       upstream.size());
  for (size_t i = 0; i < numbers.size(); ++i) {
    void* r = nullptr;
    if (redisGetReply(redis.c, &r) != REDIS_OK) {
      error = fmt::format("Redis: {}", redis.c->errstr);
      return false;
    }
    freeReplyObject(r);
  }
  return bump_ported_version(redis, version, error);
}

bool remove_ported(const Config& config, const std::vector<std::string>& numbers, long long& version, std::string& error) {
  SyncRedis redis;
  if (!redis.connect(config, error)) return false;
  for (const auto& number : numbers)
    if (!redis.command(error, "HDEL %s %b", keys::ported, number.data(), number.size())) return false;
  return bump_ported_version(redis, version, error);
}

}  // namespace proxy
