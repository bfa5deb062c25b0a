// One pipelined Redis connection on the loop: transport only, no key or script knows of it here.
#pragma once

#include <hiredis/read.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory_resource>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/net/ring.h"

struct redisReply;

namespace proxy {

// Commands are encoded (RESP) straight into one output buffer and written together once per
// loop turn; replies are parsed by hiredis' reader into objects from a pool and handed to the
// callbacks in order. Nothing is allocated per command once the buffers and the pool have grown
// to the traffic: hiredis' own async layer allocates a callback, the formatted command and each
// reply object for every command, which at one command per message was most of the proxy's
// allocations.
class RedisLink {
 public:
  // The reply, or nullptr for an error reply (given to Events::error_reply first) or when the
  // link went down before it came.
  // Callbacks that capture no more than two pointers are held without an allocation.
  using Reply = std::function<void(const redisReply*)>;
  struct Events {
    virtual ~Events() = default;
    virtual void link_up() = 0;
    // After the failed commands' callbacks. Not called by close().
    virtual void link_down(std::string_view reason) = 0;
    virtual void error_reply(std::string_view message) = 0;
  };

  RedisLink(uv_loop_t* loop, Events& events);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Starts a connection attempt (dropping any link there is); link_up() or link_down() follows.
  void connect(const std::string& host, int port);
  // Commands: queued while the attempt is under way, answered with nullptr if it fails.
  void command(const std::string_view* argv, size_t argc, Reply fn);
  template <size_t N>
  void command(const std::string_view (&argv)[N], Reply fn) {
    command(argv, N, std::move(fn));
  }
  // Replies that answer no command (a subscribed connection's messages) go to `fn` instead of
  // dropping the link as a protocol error.
  void on_push(Reply fn) { push_ = std::move(fn); }
  // Drops the connection: every command waiting fails (nullptr), then link_down(reason).
  void drop(std::string_view reason);
  // For good, and no event follows. What is queued is written and its answers waited for (at
  // most kCloseWaitMs), as hiredis' disconnect did: the last usage counts of a shutdown go out.
  void close();
  static constexpr uint64_t kCloseWaitMs = 2000;

  bool up() const { return socket_ != nullptr && connected_; }
  bool attempting() const { return socket_ != nullptr && !connected_; }
  size_t in_flight() const { return pending_.size(); }
  // Writes handed to the socket so far: one per loop turn that had commands, however many.
  uint64_t writes() const { return writes_; }
  // When the oldest unanswered command was queued (uv_now), or 0 when none is.
  uint64_t oldest_queued_ms() const { return pending_.empty() ? 0 : pending_.front().queued_ms; }
  // Writes what this turn queued now rather than in the next prepare phase (see Hub::end_of_turn).
  void flush_now() { flush(); }

 private:
  struct Socket;  // one connection's libuv handles, freed by their close callback
  struct Pending {
    Reply fn;
    uint64_t queued_ms = 0;
  };
  void queued(Reply fn);
  void flush();
  void on_read(ssize_t n);
  void on_connected(int status);
  void fail_pending();
  void release_socket();
  void finish_close();

  uv_loop_t* loop_;
  Events& events_;
  Socket* socket_ = nullptr;
  bool connected_ = false;
  bool writing_now_ = false;
  uv_prepare_t flush_{};
  bool closing_ = false;
  uv_timer_t close_timer_{};
  std::string out_, writing_;  // queued this turn; being written
  Ring<Pending> pending_;  // the callbacks in order
  Reply push_;             // replies to no command, when subscribed
  std::pmr::unsynchronized_pool_resource reply_pool_;
  redisReader* reader_ = nullptr;
  uint64_t generation_ = 0;
  uint64_t writes_ = 0;  // moves on with every drop: a callback that dropped the link stops the read loop
};

}  // namespace proxy
