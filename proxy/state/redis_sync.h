// A blocking Redis connection for start-up and the ops subcommands (never on the loop).
#pragma once

#include <hiredis/hiredis.h>

#include <fmt/format.h>
#include <memory>
#include <string>

#include "proxy/config/config.h"

namespace proxy {

// Connects where the configuration says: the redis URL's node, or the master the sentinels name
// (asked in turn; a node whose ROLE is not master is refused). Authenticates and selects the db.
struct SyncRedis {
  using Reply = std::unique_ptr<redisReply, void (*)(void*)>;
  redisContext* c = nullptr;
  ~SyncRedis() {
    if (c) redisFree(c);
  }
  bool connect(const Config& config, std::string& error) {
    if (config.redis_sentinels.empty()) return connect_node(config, config.redis_host, config.redis_port, error);
    std::string why;
    for (const Endpoint& s : config.redis_sentinels) {
      std::string host;
      int port = 0;
      if (!ask_sentinel(config, s, host, port, why)) continue;
      if (!connect_node(config, host, port, why)) continue;
      auto role = command(why, "ROLE");
      if (!role) continue;
      if (role->type == REDIS_REPLY_ARRAY && role->elements > 0 && role->element[0]->type == REDIS_REPLY_STRING &&
          std::string(role->element[0]->str) == "master")
        return true;
      why = fmt::format("{}:{}, named by sentinel {}, is not the master", host, port, s.to_string());
    }
    error = fmt::format("no sentinel named a usable master {}: {}", config.redis_master, why);
    return false;
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

 private:
  bool open(const std::string& host, int port, std::string& error) {
    if (c) redisFree(c);
    timeval timeout{2, 0};
    c = redisConnectWithTimeout(host.c_str(), port, timeout);
    if (!c || c->err) {
      error = fmt::format("cannot connect to Redis at {}:{}: {}", host, port, c ? c->errstr : "out of memory");
      return false;
    }
    redisSetTimeout(c, timeout);
    return true;
  }
  bool connect_node(const Config& config, const std::string& host, int port, std::string& error) {
    if (!open(host, port, error)) return false;
    if (!config.redis_password.empty()) {
      Reply r = config.redis_username.empty()
                    ? command(error, "AUTH %s", config.redis_password.c_str())
                    : command(error, "AUTH %s %s", config.redis_username.c_str(), config.redis_password.c_str());
      if (!r) {
        error = fmt::format("Redis at {}:{} refused our credentials: {}", host, port, error);
        return false;
      }
    }
    if (config.redis_db != 0) return command(error, "SELECT %d", config.redis_db) != nullptr;
    return true;
  }
  bool ask_sentinel(const Config& config, const Endpoint& s, std::string& host, int& port, std::string& error) {
    if (!open(s.host, s.port, error)) return false;
    if (!config.redis_sentinel_password.empty() && !command(error, "AUTH %s", config.redis_sentinel_password.c_str()))
      return false;
    Reply r = command(error, "SENTINEL get-master-addr-by-name %s", config.redis_master.c_str());
    if (!r) return false;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING) {
      error = fmt::format("sentinel {} does not know master {}", s.to_string(), config.redis_master);
      return false;
    }
    host = r->element[0]->str;
    port = std::atoi(r->element[1]->str);
    return port > 0 && port < 65536;
  }
};

}  // namespace proxy
