// A small HTTP/1.1 server for the stats port: one request per connection, then close.
#include "proxy/stats/server.h"

#include <algorithm>
#include <cctype>
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

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Content";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

std::string percent_decoded(std::string_view s) {
  auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(char(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool path_matches(std::string_view pattern, std::string_view path, std::vector<std::string>& captures) {
  captures.clear();
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern[0] != '/' || path[0] != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    size_t p = std::min(pattern.find('/'), pattern.size()), q = std::min(path.find('/'), path.size());
    std::string_view want = pattern.substr(0, p), got = path.substr(0, q);
    if (want == "*") {
      if (got.empty()) return false;
      captures.push_back(percent_decoded(got));
    } else if (want != got) {
      return false;
    }
    pattern.remove_prefix(p);
    path.remove_prefix(q);
  }
  return true;
}

// ---- reading a request ----

namespace {
bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}
}  // namespace

RequestReader::RequestReader() {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
}

void RequestReader::fail(int status) {
  if (state_ != State::reading) return;
  state_ = State::failed;
  error_status_ = status;
}

RequestReader::State RequestReader::feed(const char* data, size_t n) {
  if (state_ != State::reading) return state_;
  size_t parsed = http_parser_execute(&parser_, &settings(), data, n);
  if (state_ != State::reading) return state_;
  if (parsed != n) fail(400);
  // Counted across reads: a client trickling its headers a byte at a time is held to the same bound.
  if (!head_done_ && (head_bytes_ += n) > kMaxHead) fail(400);
  return state_;
}

void RequestReader::header_done() {
  if (same_name(field_, "Authorization")) request_.authorization = value_;
  else if (same_name(field_, "X-Hajib-Actor")) request_.actor = value_;
  field_.clear();
  value_.clear();
}

int RequestReader::on_url(http_parser* p, const char* at, size_t len) {
  static_cast<RequestReader*>(p->data)->url_.append(at, len);
  return 0;
}

int RequestReader::on_header_field(http_parser* p, const char* at, size_t len) {
  auto* r = static_cast<RequestReader*>(p->data);
  if (r->in_value_) r->header_done();
  r->in_value_ = false;
  r->field_.append(at, len);
  return 0;
}

int RequestReader::on_header_value(http_parser* p, const char* at, size_t len) {
  auto* r = static_cast<RequestReader*>(p->data);
  r->in_value_ = true;
  r->value_.append(at, len);
  return 0;
}

int RequestReader::on_headers_complete(http_parser* p) {
  auto* r = static_cast<RequestReader*>(p->data);
  if (r->in_value_) r->header_done();
  r->head_done_ = true;
  r->request_.method = http_method_str(http_method(p->method));
  r->request_.path = r->url_;
  http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(r->url_.data(), r->url_.size(), 0, &u) == 0 && (u.field_set & (1 << UF_PATH)))
    r->request_.path = r->url_.substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
  // A declared length past the bound is refused before a byte of it is read.
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > kMaxBody) {
    r->fail(413);
    return -1;
  }
  return 0;
}

int RequestReader::on_body(http_parser* p, const char* at, size_t len) {
  auto* r = static_cast<RequestReader*>(p->data);
  if (r->request_.body.size() + len > kMaxBody) {  // chunked: counted as it comes
    r->fail(413);
    return -1;
  }
  r->request_.body.append(at, len);
  return 0;
}

int RequestReader::on_message_complete(http_parser* p) {
  auto* r = static_cast<RequestReader*>(p->data);
  if (r->state_ == State::reading) r->state_ = State::complete;
  return 1;  // one request per connection: what follows is not read
}

const http_parser_settings& RequestReader::settings() {
  static const http_parser_settings settings = [] {
    http_parser_settings s{};
    s.on_url = on_url;
    s.on_header_field = on_header_field;
    s.on_header_value = on_header_value;
    s.on_headers_complete = on_headers_complete;
    s.on_body = on_body;
    s.on_message_complete = on_message_complete;
    return s;
  }();
  return settings;
}

// ---- the routes ----

StatsServer::StatsServer(uv_loop_t* loop, const Limits& limits, Counters& counters)
    : loop_(loop), limits_(limits), counters_(counters) {}

void StatsServer::route(std::string method, std::string path, RouteHandler handler) {
  routes_.push_back({std::move(method), std::move(path), std::move(handler)});
}

void StatsServer::guard(std::string prefix, RouteGuard guard) { guards_.emplace_back(std::move(prefix), std::move(guard)); }

HttpResponse StatsServer::answer(HttpRequest& request) const {
  HttpResponse response;
  for (const auto& [prefix, guard] : guards_)
    if (request.path.starts_with(prefix) && guard(request, response)) return response;
  std::vector<std::string> allowed;
  for (const Route& r : routes_) {
    if (!path_matches(r.path, request.path, request.captures)) continue;
    if (r.method == request.method || (r.method == "GET" && request.method == "HEAD")) {
      r.handler(request, response);
      return response;
    }
    allowed.push_back(r.method);
    if (r.method == "GET") allowed.push_back("HEAD");
  }
  if (!allowed.empty()) {
    response.status = 405;
    response.body = fmt::format("{} takes {}\n", request.path, fmt::join(allowed, ", "));
    response.headers.emplace_back("Allow", fmt::format("{}", fmt::join(allowed, ", ")));
    return response;
  }
  std::vector<std::string> pages;
  for (const Route& r : routes_)
    if (r.method == "GET" && r.path.find('*') == std::string::npos && !r.path.starts_with("/admin/")) pages.push_back(r.path);
  response.status = 404;
  response.body = fmt::format("try {}\n", fmt::join(pages, ", "));
  return response;
}

// ---- connections ----

// One client of the stats port: a socket and the timer that bounds its life.
struct HttpConnection {
  StatsServer* server = nullptr;
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  uv_write_t write{};
  RequestReader reader;
  std::string address, response;
  int open_handles = 2;  // tcp and timer: freed after both close callbacks
  bool done = false;
  char buf[2048];
};

namespace {

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
void respond(HttpConnection* c, const HttpResponse& r, bool head) {
  c->done = true;
  std::string extra;
  for (const auto& [name, value] : r.headers) extra += fmt::format("{}: {}\r\n", name, value);
  c->response = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n{}", r.status,
                            reason_phrase(r.status), r.content_type, r.body.size(), extra, head ? std::string_view() : std::string_view(r.body));
  uv_buf_t b = uv_buf_init(c->response.data(), unsigned(c->response.size()));
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
  uv_write(&c->write, reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1,
           [](uv_write_t* w, int) { close_connection(static_cast<HttpConnection*>(w->data)); });
}

void on_read(uv_stream_t* stream, ssize_t n, const uv_buf_t*) {
  auto* c = static_cast<HttpConnection*>(stream->data);
  if (n < 0) return close_connection(c);
  if (c->done) return;
  switch (c->reader.feed(c->buf, size_t(n))) {
    case RequestReader::State::reading: return;
    case RequestReader::State::failed: {
      HttpResponse r;
      r.status = c->reader.error_status();
      r.body = r.status == 413 ? fmt::format("the body is limited to {} bytes\n", RequestReader::kMaxBody) : "bad request\n";
      return respond(c, r, false);
    }
    case RequestReader::State::complete: {
      HttpRequest& request = c->reader.request();
      request.peer = c->address;
      return respond(c, c->server->answer(request), request.method == "HEAD");
    }
  }
}

}  // namespace

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
  uv_tcp_init(loop_, &c->tcp);
  uv_timer_init(loop_, &c->timer);
  c->tcp.data = c->timer.data = c->write.data = c;
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
