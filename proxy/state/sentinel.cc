// Redis Sentinel on the loop: who the master is, and +switch-master (proxy/state/sentinel.h).
#include "proxy/state/sentinel.h"

#include <hiredis/hiredis.h>

#include <charconv>

#include "proxy/log.h"

namespace proxy {

namespace {

std::string_view text_of(const redisReply* r) {
  if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return {};
  return {r->str, r->len};
}

// An address as a sentinel writes it: a host of sane length and a port 1-65535.
std::optional<Endpoint> endpoint_of(std::string_view host, std::string_view port) {
  if (host.empty() || host.size() > 255 || host.find_first_of(" \t\r\n\0", 0, 5) != std::string_view::npos) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value < 1 || value > 65535) return std::nullopt;
  return Endpoint{std::string(host), uint16_t(value)};
}

}  // namespace

std::optional<Endpoint> SentinelWatch::parse_master_reply(const redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return std::nullopt;
  return endpoint_of(text_of(r->element[0]), text_of(r->element[1]));
}

// ["message", "+switch-master", "<name> <old ip> <old port> <new ip> <new port>"]
std::optional<Endpoint> SentinelWatch::parse_switch_message(const redisReply* r, std::string_view name) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) return std::nullopt;
  if (text_of(r->element[0]) != "message" || text_of(r->element[1]) != "+switch-master") return std::nullopt;
  std::string_view text = text_of(r->element[2]);
  std::string_view words[5];
  size_t n = 0;
  while (!text.empty() && n < 5) {
    size_t space = text.find(' ');
    words[n++] = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
  }
  if (n != 5 || !text.empty() || words[0] != name) return std::nullopt;
  return endpoint_of(words[3], words[4]);
}

SentinelWatch::SentinelWatch(uv_loop_t* loop, const Config& config, Found found)
    : loop_(loop), sentinels_(config.redis_sentinels), master_(config.redis_master),
      password_(config.redis_sentinel_password), found_(std::move(found)), link_(loop, *this) {
  uv_timer_init(loop, &timer_);
  timer_.data = this;
  link_.on_push([this](const redisReply* r) {
    if (auto moved = parse_switch_message(r, master_)) {
      log::warn("sentinel {}: +switch-master {} -> {}", sentinels_[current_].to_string(), master_, moved->to_string());
      found_(moved->host, moved->port);
    }
  });
  ask();
}

SentinelWatch::~SentinelWatch() = default;

void SentinelWatch::ask() {
  if (closing_ || asking_) return;
  asking_ = true;
  connect_current();
}

void SentinelWatch::connect_current() {
  last_error_.clear();
  link_.connect(sentinels_[current_].host, sentinels_[current_].port);  // drops the subscribed one, no event
  uv_timer_start(&timer_, [](uv_timer_t* t) { static_cast<SentinelWatch*>(t->data)->next_sentinel("no answer"); }, kAnswerMs, 0);
}

void SentinelWatch::link_up() {
  if (!password_.empty())
    link_.command({"AUTH", password_}, [this](const redisReply* r) {
      if (!r && link_.up()) next_sentinel("refused our sentinel_password: " + last_error_);
    });
  link_.command({"SENTINEL", "get-master-addr-by-name", master_}, [this](const redisReply* r) { answered(r); });
}

void SentinelWatch::answered(const redisReply* r) {
  if (!link_.up()) return;
  std::optional<Endpoint> master = parse_master_reply(r);
  if (!master) {
    std::string why = r ? (r->type == REDIS_REPLY_NIL ? "does not know master " + master_ : "answered nonsense") : last_error_;
    return next_sentinel(why);
  }
  uv_timer_stop(&timer_);
  asking_ = false;
  link_.command({"SUBSCRIBE", "+switch-master"}, nullptr);
  found_(master->host, master->port);
}

void SentinelWatch::link_down(std::string_view reason) {
  if (closing_) return;
  // A subscribed connection lost: the next sentinel is asked again (a switch may be under way).
  asking_ = true;
  next_sentinel(reason);
}

// The next sentinel, at once; after a whole round without an answer, a pause first.
void SentinelWatch::next_sentinel(std::string_view why) {
  if (closing_) return;
  log::warn_limited("sentinel {}: {}", sentinels_[current_].to_string(), why);
  asking_ = true;
  current_ = (current_ + 1) % sentinels_.size();
  if (current_ != 0) return connect_current();
  uv_timer_start(&timer_, [](uv_timer_t* t) { static_cast<SentinelWatch*>(t->data)->connect_current(); }, kRetryMs, 0);
}

void SentinelWatch::close() {
  if (closing_) return;
  closing_ = true;
  link_.close();
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

}  // namespace proxy
