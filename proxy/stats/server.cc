// A small HTTP/1.1 server for the stats port: one request per connection, then close.
#include "proxy/stats/server.h"

#include <http_parser.h>

#include <cstring>
#include <fmt/format.h>

#include "proxy/stats/stats.h"

namespace proxy {

int to_sockaddr(const Endpoint& e, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  std::string host = e.host == "localhost" ? "127.0.0.1" : e.host;
  if (host.find(':') != std::string::npos) return uv_ip6_addr(host.c_str(), e.port, reinterpret_cast<sockaddr_in6*>(&out));
  return uv_ip4_addr(host.c_str(), e.port, reinterpret_cast<sockaddr_in*>(&out));
}

uint16_t bound_port(uv_tcp_t* handle) {
  sockaddr_storage addr{};
  int len = sizeof addr;
  if (uv_tcp_getsockname(handle, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

std::string peer_host(uv_tcp_t* handle) {
  sockaddr_storage addr{};
  int len = sizeof addr;
  char host[INET6_ADDRSTRLEN] = "?";
  if (uv_tcp_getpeername(handle, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return host;
  if (addr.ss_family == AF_INET6) uv_ip6_name(reinterpret_cast<sockaddr_in6*>(&addr), host, sizeof host);
  else uv_ip4_name(reinterpret_cast<sockaddr_in*>(&addr), host, sizeof host);
  return host;
}

// One client of the stats port: a socket and the timer that bounds its life.
struct HttpConnection {
  StatsServer* server = nullptr;
  StatsServer::Handler* handler = nullptr;
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  uv_write_t write{};
  http_parser parser{};
  std::string address, url, response;
  size_t received = 0;
  int open_handles = 2;  // tcp and timer: freed after both close callbacks
  bool done = false;
  char buf[2048];
};

namespace {

constexpr size_t kMaxRequest = 8192;

// Its place under the caps is given back at once; the memory after libuv's last callback.
void close_connection(HttpConnection* c) {
  if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&c->tcp))) return;
  c->server->closed(c);
  auto closed = [](uv_handle_t* h) {
    auto* conn = static_cast<HttpConnection*>(h->data);
    if (--conn->open_handles == 0) delete conn;
  };
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->timer), closed);
}

// A HEAD request gets the headers a GET would, without the body.
void respond(HttpConnection* c, int code, const char* reason, const std::string& type, const std::string& body,
             std::string_view extra_headers = "") {
  c->done = true;
  const bool head = c->parser.method == HTTP_HEAD;
  c->response = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n{}", code,
                            reason, type, body.size(), extra_headers, head ? std::string_view() : std::string_view(body));
  uv_buf_t b = uv_buf_init(c->response.data(), unsigned(c->response.size()));
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
  uv_write(&c->write, reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1,
           [](uv_write_t* w, int) { close_connection(static_cast<HttpConnection*>(w->data)); });
}

int on_url(http_parser* p, const char* at, size_t len) {
  static_cast<HttpConnection*>(p->data)->url.append(at, len);
  return 0;
}

int on_message_complete(http_parser* p) {
  auto* c = static_cast<HttpConnection*>(p->data);
  if (p->method != HTTP_GET && p->method != HTTP_HEAD) {
    respond(c, 405, "Method Not Allowed", "text/plain", "only GET and HEAD\n", "Allow: GET, HEAD\r\n");
    return 1;
  }
  http_parser_url u;
  http_parser_url_init(&u);
  std::string path = c->url;
  if (http_parser_parse_url(c->url.data(), c->url.size(), 0, &u) == 0 && (u.field_set & (1 << UF_PATH)))
    path = c->url.substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
  std::string type, body;
  int code = (*c->handler)(path, type, body);
  if (code == 0) respond(c, 404, "Not Found", "text/plain", "try /metrics, /stats, /healthz or /readyz\n");
  else respond(c, code, code == 200 ? "OK" : "Service Unavailable", type, body);
  return 1;  // one request per connection
}

const http_parser_settings kSettings = [] {
  http_parser_settings s{};
  s.on_url = on_url;
  s.on_message_complete = on_message_complete;
  return s;
}();

void on_read(uv_stream_t* stream, ssize_t n, const uv_buf_t*) {
  auto* c = static_cast<HttpConnection*>(stream->data);
  if (n < 0) return close_connection(c);
  c->received += size_t(n);
  size_t parsed = http_parser_execute(&c->parser, &kSettings, c->buf, size_t(n));
  if (c->done) return;
  if (parsed != size_t(n) || c->received > kMaxRequest) respond(c, 400, "Bad Request", "text/plain", "bad request\n");
}

}  // namespace

StatsServer::StatsServer(uv_loop_t* loop, Handler handler, const Limits& limits, Counters& counters)
    : loop_(loop), handler_(std::move(handler)), limits_(limits), counters_(counters) {}

int StatsServer::listen(const Endpoint& at) {
  sockaddr_storage addr;
  if (int rc = to_sockaddr(at, addr)) return rc;
  uv_tcp_init(loop_, &server_);
  server_.data = this;
  listening_ = true;
  if (int rc = uv_tcp_bind(&server_, reinterpret_cast<sockaddr*>(&addr), 0)) return rc;
  int rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server_), 64, [](uv_stream_t* server, int status) {
    if (status == 0) static_cast<StatsServer*>(server->data)->accept();
  });
  if (rc == 0) port_ = bound_port(&server_);
  return rc;
}

void StatsServer::accept() {
  auto* c = new HttpConnection;
  c->server = this;
  c->handler = &handler_;
  uv_tcp_init(loop_, &c->tcp);
  uv_timer_init(loop_, &c->timer);
  c->tcp.data = c->timer.data = c->write.data = c->parser.data = c;
  http_parser_init(&c->parser, HTTP_REQUEST);
  open_.insert(c);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&server_), reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) return close_connection(c);
  c->address = peer_host(&c->tcp);
  ++per_address_[c->address];
  if (!admit(c)) return close_connection(c);
  // The whole request must come within the timeout: an idle or trickling client holds no slot for long.
  uv_timer_start(&c->timer, [](uv_timer_t* t) {
    auto* conn = static_cast<HttpConnection*>(t->data);
    ++conn->server->counters_.stats_connections_timed_out;
    close_connection(conn);
  }, uint64_t(limits_.stats_request_timeout_ms), 0);
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&c->tcp),
      [](uv_handle_t* h, size_t, uv_buf_t* b) {
        auto* conn = static_cast<HttpConnection*>(h->data);
        *b = uv_buf_init(conn->buf, sizeof conn->buf);
      },
      on_read);
}

// Over a cap the connection is closed at once, counted; it is already in open_ and per_address_.
bool StatsServer::admit(HttpConnection* c) {
  if (per_address_[c->address] > limits_.stats_connections_per_address_max) {
    ++counters_.stats_connections_refused_per_address;
    return false;
  }
  if (open_.size() > size_t(limits_.stats_connections_max)) {
    ++counters_.stats_connections_refused_total;
    return false;
  }
  return true;
}

void StatsServer::closed(HttpConnection* c) {
  open_.erase(c);
  if (c->address.empty()) return;
  auto it = per_address_.find(c->address);
  if (it != per_address_.end() && --it->second <= 0) per_address_.erase(it);
}

void StatsServer::close() {
  if (listening_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&server_)))
    uv_close(reinterpret_cast<uv_handle_t*>(&server_), nullptr);
  listening_ = false;
  std::vector<HttpConnection*> all(open_.begin(), open_.end());
  for (auto* c : all) close_connection(c);
}

}  // namespace proxy
