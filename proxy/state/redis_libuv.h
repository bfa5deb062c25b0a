// hiredis on libuv: like hiredis' own adapters/libuv.h, except that poll errors reach hiredis.
//
// The Debian 12 adapter (hiredis 0.14) returns early when uv_poll reports an error, which is
// what libuv does for a refused connect or a reset connection (EPOLLERR): hiredis then never
// learns that the link is gone and waits forever. Here an error is handed to hiredis as the
// events it was waiting for, so that its read or write finds the socket's error and it
// disconnects, calling our callbacks.
#pragma once

#include <hiredis/async.h>
#include <uv.h>

namespace proxy {

struct RedisPoll {
  uv_poll_t handle;
  redisAsyncContext* context;
  int events;
};

inline void redis_poll_cb(uv_poll_t* handle, int status, int events) {
  auto* p = static_cast<RedisPoll*>(handle->data);
  if (status < 0) events = p->events;
  if (p->context && (events & UV_WRITABLE)) redisAsyncHandleWrite(p->context);
  if (p->context && (events & UV_READABLE)) redisAsyncHandleRead(p->context);
}

inline void redis_poll_update(RedisPoll* p, int add, int remove) {
  int events = (p->events | add) & ~remove;
  if (events == p->events) return;  // hiredis asks on every command: restarting the poll costs an epoll_ctl
  p->events = events;
  if (p->events) uv_poll_start(&p->handle, p->events, redis_poll_cb);
  else uv_poll_stop(&p->handle);
}

inline int redis_attach_libuv(redisAsyncContext* ac, uv_loop_t* loop) {
  if (ac->ev.data) return REDIS_ERR;
  auto* p = new RedisPoll{};
  if (uv_poll_init_socket(loop, &p->handle, ac->c.fd) != 0) {
    delete p;
    return REDIS_ERR;
  }
  p->handle.data = p;
  p->context = ac;
  ac->ev.data = p;
  ac->ev.addRead = [](void* d) { redis_poll_update(static_cast<RedisPoll*>(d), UV_READABLE, 0); };
  ac->ev.delRead = [](void* d) { redis_poll_update(static_cast<RedisPoll*>(d), 0, UV_READABLE); };
  ac->ev.addWrite = [](void* d) { redis_poll_update(static_cast<RedisPoll*>(d), UV_WRITABLE, 0); };
  ac->ev.delWrite = [](void* d) { redis_poll_update(static_cast<RedisPoll*>(d), 0, UV_WRITABLE); };
  ac->ev.cleanup = [](void* d) {
    auto* poll = static_cast<RedisPoll*>(d);
    poll->context = nullptr;  // hiredis frees the context; the handle goes at its close callback
    uv_close(reinterpret_cast<uv_handle_t*>(&poll->handle), [](uv_handle_t* h) { delete static_cast<RedisPoll*>(h->data); });
  };
  return REDIS_OK;
}

}  // namespace proxy
