// A blocking Redis connection for start-up and the ops subcommands (never on the loop).
#pragma once

#include <hiredis/hiredis.h>

#include <fmt/format.h>
#include <memory>
#include <string>

#include "proxy/config/config.h"

namespace proxy {

struct SyncRedis {
  using Reply = std::unique_ptr<redisReply, void (*)(void*)>;
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
  Reply command(std::string& error, const char* format, Args... args) {
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


}  // namespace proxy
