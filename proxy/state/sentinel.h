// Finds the Redis master through Redis Sentinels on the loop and follows +switch-master.
#pragma once

#include <uv.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/state/redis_link.h"

struct redisReply;

namespace proxy {

// One connection to one sentinel at a time: it asks SENTINEL get-master-addr-by-name, then stays
// subscribed to +switch-master. A sentinel that is down, refuses us or does not know the master
// is left for the next one in the list. ask() asks again (a subscribed connection takes no other
// command, so it reconnects, to the same sentinel first).
class SentinelWatch : private RedisLink::Events {
 public:
  using Found = std::function<void(const std::string& host, int port)>;
  SentinelWatch(uv_loop_t* loop, const Config& config, Found found);
  ~SentinelWatch() override;
  void ask();
  void close();
  static constexpr uint64_t kRetryMs = 300;    // between sentinels once every one failed
  static constexpr uint64_t kAnswerMs = 1000;  // a sentinel that says nothing for this long is left

  // The master's address out of a get-master-addr-by-name reply, or nullopt (hostile input: any shape).
  static std::optional<Endpoint> parse_master_reply(const redisReply* r);
  // The new address out of a +switch-master message for `name`, or nullopt (another name, bad shape).
  static std::optional<Endpoint> parse_switch_message(const redisReply* r, std::string_view name);

 private:
  void link_up() override;
  void link_down(std::string_view reason) override;
  void error_reply(std::string_view message) override { last_error_ = message; }
  void connect_current();
  void next_sentinel(std::string_view why);
  void answered(const redisReply* r);

  uv_loop_t* loop_;
  std::vector<Endpoint> sentinels_;
  std::string master_, password_;
  Found found_;
  RedisLink link_;
  uv_timer_t timer_{};  // the answer's deadline, or the pause before the next sentinel
  size_t current_ = 0;
  bool asking_ = false;  // a query is on its way: ask() waits for it
  bool closing_ = false;
  std::string last_error_;
};

}  // namespace proxy
