// The NOC's HTTP port: GET (or HEAD) /metrics, /stats, /healthz and /readyz, parsed with http-parser.
#pragma once

#include <uv.h>

#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "proxy/config/config.h"

namespace proxy {

struct Counters;
struct HttpConnection;

class StatsServer {
 public:
  // Answers a path ("/stats") with an HTTP status, a content type and a body; 0 means 404.
  using Handler = std::function<int(const std::string& path, std::string& content_type, std::string& body)>;

  // limits: stats_connections_max, stats_connections_per_address_max, stats_request_timeout_ms.
  StatsServer(uv_loop_t* loop, Handler handler, const Limits& limits, Counters& counters);
  // Binds and listens; returns a libuv error code (0 on success). port() is the bound port.
  int listen(const Endpoint& at);
  uint16_t port() const { return port_; }
  // Stops listening and closes every open connection.
  void close();
  void closed(HttpConnection* c);  // a connection is closing: its place is free

 private:
  void accept();
  bool admit(HttpConnection* c);

  uv_loop_t* loop_;
  uv_tcp_t server_{};
  Handler handler_;
  Limits limits_;
  Counters& counters_;
  uint16_t port_ = 0;
  bool listening_ = false;
  std::unordered_set<HttpConnection*> open_;
  std::unordered_map<std::string, int> per_address_;
};

// Resolves a numeric "host" and port into a sockaddr (IPv4 or IPv6). Returns a libuv error code.
int to_sockaddr(const Endpoint& e, sockaddr_storage& out);
uint16_t bound_port(uv_tcp_t* handle);
// The peer's IP address as text ("?" when unknown).
std::string peer_host(uv_tcp_t* handle);

}  // namespace proxy
