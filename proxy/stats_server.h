// The NOC's HTTP port: GET /metrics, /stats and /healthz, parsed with http-parser.
#pragma once

#include <uv.h>

#include <functional>
#include <string>

#include "proxy/config.h"

namespace proxy {

class StatsServer {
 public:
  // Answers a path ("/stats") with an HTTP status, a content type and a body; 0 means 404.
  using Handler = std::function<int(const std::string& path, std::string& content_type, std::string& body)>;

  StatsServer(uv_loop_t* loop, Handler handler);
  // Binds and listens; returns a libuv error code (0 on success). port() is the bound port.
  int listen(const Endpoint& at);
  uint16_t port() const { return port_; }
  void close();

 private:
  uv_loop_t* loop_;
  uv_tcp_t server_{};
  Handler handler_;
  uint16_t port_ = 0;
  bool listening_ = false;
};

// Resolves a numeric "host" and port into a sockaddr (IPv4 or IPv6). Returns a libuv error code.
int to_sockaddr(const Endpoint& e, sockaddr_storage& out);
uint16_t bound_port(uv_tcp_t* handle);

}  // namespace proxy
