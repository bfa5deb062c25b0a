// RESP out of one buffer per turn, hiredis' reader in, callbacks in order (proxy/state/redis_link.h).
#include "proxy/state/redis_link.h"

#include <hiredis/hiredis.h>

#include <array>
#include <charconv>
#include <cstring>
#include <utility>

namespace proxy {

namespace {

// Reply objects come from the link's pool and go back to it. hiredis hands the pool to the
// create functions (the reader's privdata) but not to freeObject: the object keeps it in front.
struct Pooled {
  std::pmr::memory_resource* pool;
  redisReply reply;
};

redisReply* new_reply(const redisReadTask* task, int type) {
  auto* pool = static_cast<std::pmr::memory_resource*>(task->privdata);
  auto* p = static_cast<Pooled*>(pool->allocate(sizeof(Pooled), alignof(Pooled)));
  p->pool = pool;
  p->reply = redisReply{};
  p->reply.type = type;
  if (task->parent) static_cast<redisReply*>(task->parent->obj)->element[task->idx] = &p->reply;
  return &p->reply;
}

Pooled* pooled_of(redisReply* r) {
  return reinterpret_cast<Pooled*>(reinterpret_cast<char*>(r) - offsetof(Pooled, reply));
}

void* create_string(const redisReadTask* task, char* str, size_t len) {
  redisReply* r = new_reply(task, task->type);
  auto* pool = pooled_of(r)->pool;
  r->str = static_cast<char*>(pool->allocate(len + 1, 1));
  std::memcpy(r->str, str, len);
  r->str[len] = '\0';
  r->len = len;
  return r;
}

void* create_array(const redisReadTask* task, int elements) {
  redisReply* r = new_reply(task, REDIS_REPLY_ARRAY);
  if (elements > 0) {
    auto* pool = pooled_of(r)->pool;
    r->element = static_cast<redisReply**>(pool->allocate(sizeof(redisReply*) * size_t(elements), alignof(redisReply*)));
    std::fill_n(r->element, elements, nullptr);
  }
  r->elements = size_t(elements);
  return r;
}

void* create_integer(const redisReadTask* task, long long value) {
  redisReply* r = new_reply(task, REDIS_REPLY_INTEGER);
  r->integer = value;
  return r;
}

void* create_nil(const redisReadTask* task) { return new_reply(task, REDIS_REPLY_NIL); }

void free_reply(void* object) {
  auto* r = static_cast<redisReply*>(object);
  if (!r) return;
  Pooled* p = pooled_of(r);
  switch (r->type) {
    case REDIS_REPLY_ARRAY:
      if (r->element) {
        for (size_t i = 0; i < r->elements; ++i) free_reply(r->element[i]);
        p->pool->deallocate(r->element, sizeof(redisReply*) * r->elements, alignof(redisReply*));
      }
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      if (r->str) p->pool->deallocate(r->str, r->len + 1, 1);
      break;
    default: break;
  }
  p->pool->deallocate(p, sizeof(Pooled), alignof(Pooled));
}

redisReplyObjectFunctions kPooledReplies = {create_string, create_array, create_integer, create_nil, free_reply};

void append_length(std::string& out, char kind, size_t n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.push_back(kind);
  out.append(digits, end);
  out.append("\r\n", 2);
}

}  // namespace

struct RedisLink::Socket {
  uv_tcp_t tcp{};
  uv_connect_t connect{};
  uv_write_t write{};
  RedisLink* owner = nullptr;  // nullptr once the link let go of it
  std::array<char, 64 << 10> in{};
};

RedisLink::RedisLink(uv_loop_t* loop, Events& events) : loop_(loop), events_(events) {
  // Always on, and started before any connection's flush: libuv runs the prepare handles started
  // last first, so what is queued after the hub's end of turn (which writes the turn's commands
  // itself, before the customers' answers) goes out after the customers' and operators' writes.
  uv_prepare_init(loop, &flush_);
  flush_.data = this;
  uv_prepare_start(&flush_, [](uv_prepare_t* p) { static_cast<RedisLink*>(p->data)->flush(); });
  uv_unref(reinterpret_cast<uv_handle_t*>(&flush_));  // the socket keeps the loop alive, not this
  uv_timer_init(loop, &close_timer_);
  close_timer_.data = this;
}

RedisLink::~RedisLink() {
  if (reader_) redisReaderFree(reader_);
}

void RedisLink::connect(const std::string& host, int port) {
  if (closing_) return;
  if (socket_) {  // an attempt given up: its commands fail, no event
    ++generation_;
    release_socket();
    fail_pending();
  }
  sockaddr_storage addr{};
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
      uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
    // A host name: resolved here, blocking, as hiredis did (it is looked up once per attempt).
    uv_getaddrinfo_t req;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    if (int rc = uv_getaddrinfo(loop_, &req, nullptr, host.c_str(), std::to_string(port).c_str(), &hints); rc != 0)
      return events_.link_down(std::string("cannot resolve ") + host + ": " + uv_strerror(rc));
    std::memcpy(&addr, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
    uv_freeaddrinfo(req.addrinfo);
  }
  socket_ = new Socket;
  socket_->owner = this;
  uv_tcp_init(loop_, &socket_->tcp);
  socket_->tcp.data = socket_;
  socket_->connect.data = socket_;
  socket_->write.data = socket_;
  uv_tcp_nodelay(&socket_->tcp, 1);
  reader_ = redisReaderCreateWithFunctions(&kPooledReplies);
  reader_->privdata = &reply_pool_;
  reader_->maxbuf = 0;  // keep the read buffer: hiredis would free and allocate it again per read
  int rc = uv_tcp_connect(&socket_->connect, &socket_->tcp, reinterpret_cast<const sockaddr*>(&addr),
                          [](uv_connect_t* req, int status) {
                            auto* s = static_cast<Socket*>(req->data);
                            if (s->owner) s->owner->on_connected(status);
                          });
  if (rc != 0) drop(std::string("connect failed: ") + uv_strerror(rc));
}

void RedisLink::on_connected(int status) {
  if (status < 0) return drop(uv_strerror(status));
  connected_ = true;
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&socket_->tcp),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* s = static_cast<Socket*>(h->data);
        *buf = uv_buf_init(s->in.data(), unsigned(s->in.size()));
      },
      [](uv_stream_t* stream, ssize_t n, const uv_buf_t*) {
        auto* s = static_cast<Socket*>(stream->data);
        if (s->owner) s->owner->on_read(n);
      });
  events_.link_up();
  flush();  // what was queued during the attempt
}

void RedisLink::command(const std::string_view* argv, size_t argc, Reply fn) {
  append_length(out_, '*', argc);
  for (size_t i = 0; i < argc; ++i) {
    append_length(out_, '$', argv[i].size());
    out_.append(argv[i]);
    out_.append("\r\n", 2);
  }
  queued(std::move(fn));
}

void RedisLink::queued(Reply fn) {
  if (!socket_) {  // nobody will answer it (the store checks up() first)
    out_.clear();
    if (fn) fn(nullptr);
    return;
  }
  pending_.push_back(Pending{std::move(fn), uv_now(loop_)});
}

// Everything queued since the last write goes in one write; what comes during it waits for it.
void RedisLink::flush() {
  if (!connected_ || writing_now_ || out_.empty()) return;
  writing_.swap(out_);
  out_.clear();
  writing_now_ = true;
  ++writes_;
  uv_buf_t buf = uv_buf_init(writing_.data(), unsigned(writing_.size()));
  int rc = uv_write(&socket_->write, reinterpret_cast<uv_stream_t*>(&socket_->tcp), &buf, 1, [](uv_write_t* req, int status) {
    auto* s = static_cast<Socket*>(req->data);
    RedisLink* self = s->owner;
    if (!self) return;
    self->writing_now_ = false;
    self->writing_.clear();
    if (status < 0) return self->drop(std::string("write failed: ") + uv_strerror(status));
    self->flush();
  });
  if (rc != 0) {
    writing_now_ = false;
    drop(std::string("write failed: ") + uv_strerror(rc));
  }
}

void RedisLink::on_read(ssize_t n) {
  if (n == 0) return;
  if (n < 0) return drop(n == UV_EOF ? std::string("closed by redis") : std::string("read failed: ") + uv_strerror(int(n)));
  if (redisReaderFeed(reader_, socket_->in.data(), size_t(n)) != REDIS_OK) return drop("unreadable reply");
  const uint64_t generation = generation_;
  for (;;) {
    void* object = nullptr;
    if (redisReaderGetReply(reader_, &object) != REDIS_OK) return drop(std::string("unreadable reply: ") + reader_->errstr);
    if (!object) break;
    if (pending_.empty()) {
      if (push_) {
        push_(static_cast<redisReply*>(object));
        free_reply(object);
        if (generation != generation_) return;
        continue;
      }
      free_reply(object);
      return drop("a reply to no command");
    }
    Pending p = pending_.pop_front();
    auto* reply = static_cast<redisReply*>(object);
    if (reply->type == REDIS_REPLY_ERROR) {
      events_.error_reply(std::string_view(reply->str, reply->len));
      reply = nullptr;
    }
    if (p.fn && generation == generation_) p.fn(reply);
    free_reply(object);
    if (generation != generation_) return;  // the callback dropped or closed the link
  }
  if (closing_ && pending_.empty()) finish_close();
}

void RedisLink::fail_pending() {
  while (!pending_.empty()) {
    Pending p = pending_.pop_front();
    if (p.fn) p.fn(nullptr);
  }
}

void RedisLink::release_socket() {
  connected_ = false;
  writing_now_ = false;
  out_.clear();
  writing_.clear();
  if (reader_) {
    redisReaderFree(reader_);
    reader_ = nullptr;
  }
  Socket* s = std::exchange(socket_, nullptr);
  if (!s) return;
  s->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&s->tcp), [](uv_handle_t* h) { delete static_cast<Socket*>(h->data); });
}

void RedisLink::drop(std::string_view reason) {
  if (!socket_) return;
  if (closing_) return finish_close();
  ++generation_;
  release_socket();
  fail_pending();
  events_.link_down(reason);
}

void RedisLink::close() {
  if (closing_) return;
  closing_ = true;
  if (!up() || pending_.empty()) return finish_close();
  uv_timer_start(&close_timer_, [](uv_timer_t* t) { static_cast<RedisLink*>(t->data)->finish_close(); }, kCloseWaitMs, 0);
}

void RedisLink::finish_close() {
  ++generation_;
  release_socket();
  fail_pending();
  for (auto* h : {reinterpret_cast<uv_handle_t*>(&flush_), reinterpret_cast<uv_handle_t*>(&close_timer_)})
    if (!uv_is_closing(h)) uv_close(h, nullptr);
}

}  // namespace proxy
