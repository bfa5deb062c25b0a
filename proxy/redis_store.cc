// The shared state store: hiredis async on the proxy's libuv loop, pipelined, reconnecting by itself.
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libuv.h>

#include <fmt/format.h>

#include "proxy/deferred.h"
#include "proxy/state_store.h"
#include "proxy/stats.h"

namespace proxy {

namespace {

// Bounded: a kept-deliveries hash never grows past `max` fields; the whole hash expires.
constexpr const char* kKeepScript =
    "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then "
    "return 0 end "
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
    "redis.call('EXPIRE', KEYS[1], ARGV[4]) "
    "return 1";

class RedisStore final : public StateStore {
 public:
  RedisStore(uv_loop_t* loop, const Config& config, Counters& counters)
      : loop_(loop), host_(config.redis_host), port_(config.redis_port), db_(config.redis_db), counters_(counters),
        deferred_(loop) {
    uv_timer_init(loop, &reconnect_timer_);
    reconnect_timer_.data = this;
    connect();
  }

  void remember_receipt(std::string_view upstream, std::string_view operator_id, std::string_view value,
                        int ttl_s) override {
    std::string key = keys::receipt(upstream, operator_id);
    send([](redisReply*) {}, "SET %b %b EX %d", key.data(), key.size(), value.data(), value.size(), ttl_s);
  }

  void find_receipt(std::string_view upstream, std::string_view operator_id, Found done) override {
    std::string key = keys::receipt(upstream, operator_id);
    send([done](redisReply* r) { done(r != nullptr, string_reply(r)); }, "GET %b", key.data(), key.size());
  }

  void keep_delivery(std::string_view account, std::string_view key, std::string_view pdu, int max, int ttl_s,
                     Done done) override {
    std::string hash = keys::kept(account);
    send([done](redisReply* r) { done(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1); },
         "EVAL %s 1 %b %b %b %d %d", kKeepScript, hash.data(), hash.size(), key.data(), key.size(), pdu.data(),
         pdu.size(), max, ttl_s);
  }

  void kept_deliveries(std::string_view account, Listed done) override {
    std::string hash = keys::kept(account);
    send([done](redisReply* r) { done(r != nullptr, pairs_reply(r)); }, "HGETALL %b", hash.data(), hash.size());
  }

  void forget_delivery(std::string_view account, std::string_view key) override {
    std::string hash = keys::kept(account);
    send([](redisReply*) {}, "HDEL %b %b", hash.data(), hash.size(), key.data(), key.size());
  }

  void ported_version(Found done) override {
    send([done](redisReply* r) { done(r != nullptr, string_reply(r)); }, "GET %s", keys::ported_version);
  }

  void ported_numbers(Listed done) override {
    send([done](redisReply* r) { done(r != nullptr, pairs_reply(r)); }, "HGETALL %s", keys::ported);
  }

  bool up() const override { return connected_; }
  std::string describe() const override { return connected_ ? "redis up" : "redis down"; }

  void close() override {
    closing_ = true;
    if (ctx_) redisAsyncDisconnect(ctx_);  // pending callbacks run with no reply
    uv_close(reinterpret_cast<uv_handle_t*>(&reconnect_timer_), nullptr);
    deferred_.close();
  }

 private:
  using Reply = std::function<void(redisReply*)>;

  static std::vector<std::pair<std::string, std::string>> pairs_reply(redisReply* r) {
    std::vector<std::pair<std::string, std::string>> items;
    if (r && r->type == REDIS_REPLY_ARRAY)
      for (size_t i = 0; i + 1 < r->elements; i += 2)
        items.emplace_back(std::string(r->element[i]->str, r->element[i]->len),
                           std::string(r->element[i + 1]->str, r->element[i + 1]->len));
    return items;
  }

  static std::optional<std::string> string_reply(redisReply* r) {
    if (r && r->type == REDIS_REPLY_STRING) return std::string(r->str, r->len);
    return std::nullopt;
  }

  // Every reply is delivered on a later loop turn by hiredis itself; failures before sending go
  // through deferred_, so callers never see a callback inline.
  template <typename... Args>
  void send(Reply fn, const char* format, Args... args) {
    if (ctx_ && connected_) {
      auto* pending = new Reply(std::move(fn));
      if (redisAsyncCommand(ctx_, on_reply, pending, format, args...) == REDIS_OK) return;
      fn = std::move(*pending);
      delete pending;
    }
    ++counters_.state_errors;
    deferred_.post([fn = std::move(fn)] { fn(nullptr); });
  }

  static void on_reply(redisAsyncContext* ctx, void* reply, void* privdata) {
    auto* fn = static_cast<Reply*>(privdata);
    auto* r = static_cast<redisReply*>(reply);
    if (!r || r->type == REDIS_REPLY_ERROR) {
      auto* self = static_cast<RedisStore*>(ctx->data);
      if (self) ++self->counters_.state_errors;
      if (r) fmt::print(stderr, "hajib: redis error: {}\n", std::string_view(r->str, r->len));
      r = nullptr;
    }
    (*fn)(r);
    delete fn;
  }

  void connect() {
    ctx_ = redisAsyncConnect(host_.c_str(), port_);
    if (!ctx_ || ctx_->err) {
      if (ctx_) redisAsyncFree(ctx_);
      ctx_ = nullptr;
      return schedule_reconnect();
    }
    ctx_->data = this;
    redisLibuvAttach(ctx_, loop_);
    redisAsyncSetConnectCallback(ctx_, [](const redisAsyncContext* c, int status) {
      auto* self = static_cast<RedisStore*>(c->data);
      if (status != REDIS_OK) {
        self->ctx_ = nullptr;  // hiredis frees the context after this callback
        fmt::print(stderr, "hajib: redis {}:{} unreachable: {}\n", self->host_, self->port_, c->errstr);
        return self->schedule_reconnect();
      }
      self->connected_ = true;
      fmt::print(stderr, "hajib: redis {}:{} connected\n", self->host_, self->port_);
      if (self->db_ != 0) self->send([](redisReply*) {}, "SELECT %d", self->db_);
    });
    redisAsyncSetDisconnectCallback(ctx_, [](const redisAsyncContext* c, int) {
      auto* self = static_cast<RedisStore*>(c->data);
      self->ctx_ = nullptr;
      bool was = self->connected_;
      self->connected_ = false;
      if (self->closing_) return;
      if (was) fmt::print(stderr, "hajib: redis {}:{} disconnected: {}\n", self->host_, self->port_, c->errstr);
      self->schedule_reconnect();
    });
  }

  void schedule_reconnect() {
    if (closing_) return;
    uv_timer_start(&reconnect_timer_, [](uv_timer_t* t) { static_cast<RedisStore*>(t->data)->connect(); }, 500, 0);
  }

  uv_loop_t* loop_;
  std::string host_;
  int port_;
  int db_;
  Counters& counters_;
  Deferred deferred_;
  redisAsyncContext* ctx_ = nullptr;
  uv_timer_t reconnect_timer_{};
  bool connected_ = false;
  bool closing_ = false;
};

}  // namespace

std::unique_ptr<StateStore> make_redis_store(uv_loop_t* loop, const Config& config, Counters& counters) {
  return std::make_unique<RedisStore>(loop, config, counters);
}

}  // namespace proxy
