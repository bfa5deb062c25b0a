// The NOC's HTTP port: a route table of small handlers (GET/HEAD pages, the admin API's POSTs),
// requests parsed with http-parser.
#pragma once

#include <http_parser.h>
#include <uv.h>

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "proxy/config/config.h"

namespace proxy {

struct Counters;
struct HttpConnection;

// One request as the handlers see it. Everything in it came from the network.
struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query
  std::string peer;    // the client's IP address
  std::string authorization;  // the Authorization header, as sent
  std::string actor;          // X-Hajib-Actor: who says they are sending it (hajib ctl sends user@host)
  std::string body;
  std::vector<std::string> captures;  // the path segments a route's "*" matched, percent-decoded
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beside Content-Type and Content-Length
};

// Reads one request from bytes as they arrive, without a socket (unit tests feed it directly).
// Headers are bounded (kMaxHead), and the body too (kMaxBody: 413 past it).
class RequestReader {
 public:
  static constexpr size_t kMaxHead = 8192;
  static constexpr size_t kMaxBody = 64 << 10;
  enum class State { reading, complete, failed };

  RequestReader();
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;
  State feed(const char* data, size_t n);
  State state() const { return state_; }
  int error_status() const { return error_status_; }  // 400 or 413 once failed
  HttpRequest& request() { return request_; }

 private:
  static const http_parser_settings& settings();
  static int on_url(http_parser* p, const char* at, size_t len);
  static int on_header_field(http_parser* p, const char* at, size_t len);
  static int on_header_value(http_parser* p, const char* at, size_t len);
  static int on_headers_complete(http_parser* p);
  static int on_body(http_parser* p, const char* at, size_t len);
  static int on_message_complete(http_parser* p);
  void fail(int status);
  void header_done();

  http_parser parser_{};
  HttpRequest request_;
  std::string url_, field_, value_;
  bool in_value_ = false, head_done_ = false;
  size_t head_bytes_ = 0;
  State state_ = State::reading;
  int error_status_ = 0;
};

// A route's path: exact ("/stats"), with "*" standing for one segment ("/admin/sessions/*/kick").
using RouteHandler = std::function<void(const HttpRequest&, HttpResponse&)>;
// Runs before the routes for every path under its prefix; true when it answered the request itself.
using RouteGuard = std::function<bool(const HttpRequest&, HttpResponse&)>;

class StatsServer {
 public:
  // limits: stats_connections_max, stats_connections_per_address_max, stats_request_timeout_ms.
  StatsServer(uv_loop_t* loop, const Limits& limits, Counters& counters);
  // A GET route answers HEAD too (the same headers, no body).
  void route(std::string method, std::string path, RouteHandler handler);
  void guard(std::string prefix, RouteGuard guard);
  // The answer to a whole request: guards, then the route of its path and method, else 404 or 405.
  HttpResponse answer(HttpRequest& request) const;

  // Binds and listens; returns a libuv error code (0 on success). port() is the bound port.
  int listen(const Endpoint& at);
  uint16_t port() const { return port_; }
  // Stops listening and closes every open connection.
  void close();
  void closed(HttpConnection* c);  // a connection is closing: its place is free

 private:
  struct Route {
    std::string method, path;
    RouteHandler handler;
  };
  void accept();
  bool admit(HttpConnection* c);

  uv_loop_t* loop_;
  uv_tcp_t server_{};
  std::vector<Route> routes_;
  std::vector<std::pair<std::string, RouteGuard>> guards_;
  Limits limits_;
  Counters& counters_;
  uint16_t port_ = 0;
  bool listening_ = false;
  std::unordered_set<HttpConnection*> open_;
  std::unordered_map<std::string, int> per_address_;
};

// "/admin/sessions/12/kick" against "/admin/sessions/*/kick": true, with {"12"} in captures.
bool path_matches(std::string_view pattern, std::string_view path, std::vector<std::string>& captures);
// %XX sequences decoded; a malformed one is kept as it is.
std::string percent_decoded(std::string_view s);
const char* reason_phrase(int status);

// Resolves a numeric "host" and port into a sockaddr (IPv4 or IPv6). Returns a libuv error code.
int to_sockaddr(const Endpoint& e, sockaddr_storage& out);
uint16_t bound_port(uv_tcp_t* handle);
// The peer's IP address as text ("?" when unknown).
std::string peer_host(uv_tcp_t* handle);

}  // namespace proxy
