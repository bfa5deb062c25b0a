// Store selection, key names and the blocking helpers used at start-up and by ops commands.
#include "proxy/state_store.h"

#include <hiredis/hiredis.h>
#include <sodium.h>

#include <fmt/format.h>

namespace proxy {

namespace keys {
std::string receipt(std::string_view upstream, std::string_view operator_id) {
  return fmt::format("hajib:receipt:{{{}}}:{}", upstream, operator_id);
}
std::string kept(std::string_view account) { return fmt::format("hajib:kept:{{acct:{}}}", account); }
}  // namespace keys

std::unique_ptr<StateStore> make_state_store(uv_loop_t* loop, const Config& config, Counters& counters) {
  if (config.memory_state()) return make_memory_store(loop);
  return make_redis_store(loop, config, counters);
}

namespace {

struct SyncRedis {
  redisContext* c = nullptr;
  ~SyncRedis() {
    if (c) redisFree(c);
  }
  bool connect(const Config& config, std::string& error) {
    timeval timeout{2, 0};
    c = redisConnectWithTimeout(config.redis_host.c_str(), config.redis_port, timeout);
    if (!c || c->err) {
      error = fmt::format("cannot connect to Redis at {}:{}: {}", config.redis_host, config.redis_port,
                          c ? c->errstr : "out of memory");
      return false;
    }
    if (config.redis_db != 0) return command(error, "SELECT %d", config.redis_db) != nullptr;
    return true;
  }
  template <typename... Args>
  std::unique_ptr<redisReply, void (*)(void*)> command(std::string& error, const char* format, Args... args) {
    auto* reply = static_cast<redisReply*>(redisCommand(c, format, args...));
    if (!reply) error = fmt::format("Redis: {}", c->errstr);
    else if (reply->type == REDIS_REPLY_ERROR) {
      error = fmt::format("Redis: {}", reply->str);
      freeReplyObject(reply);
      reply = nullptr;
    }
    return {reply, freeReplyObject};
  }
};

}  // namespace

std::optional<uint32_t> claim_instance_number(const Config& config, std::string& error) {
  if (config.memory_state()) return randombytes_uniform(1u << 20);
  SyncRedis redis;
  if (!redis.connect(config, error)) return std::nullopt;
  auto reply = redis.command(error, "INCR %s", keys::instance);
  if (!reply) return std::nullopt;
  return uint32_t(reply->integer) & 0xFFFFF;
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
