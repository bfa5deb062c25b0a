// proxy/stats/server: a request read from hostile bytes (headers, the body's bound) and the route table's answers.
#include <catch2/catch.hpp>

#include <uv.h>

#include <string>

#include "proxy/stats/server.h"
#include "proxy/stats/stats.h"

namespace {

using proxy::RequestReader;

RequestReader::State read_all(RequestReader& r, const std::string& bytes) { return r.feed(bytes.data(), bytes.size()); }

std::string post_with_body(size_t n) {
  return "POST /admin/bans HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n" + std::string(n, 'x');
}

struct Routes {
  proxy::Counters counters;
  proxy::StatsServer server{uv_default_loop(), proxy::Limits{}, counters};
  Routes() {
    server.route("GET", "/stats", [](const proxy::HttpRequest&, proxy::HttpResponse& r) { r.body = "stats"; });
    server.route("POST", "/admin/sessions/*/kick", [](const proxy::HttpRequest& q, proxy::HttpResponse& r) { r.body = "kick " + q.captures.at(0); });
  }
  proxy::HttpResponse ask(const std::string& method, const std::string& path) {
    proxy::HttpRequest q;
    q.method = method;
    q.path = path;
    return server.answer(q);
  }
};

}  // namespace

TEST_CASE("a request's method, path (without the query), Authorization and X-Hajib-Actor are read, header names in any case") {
  RequestReader r;
  CHECK(read_all(r, "POST /admin/reload?x=1 HTTP/1.1\r\nHost: a\r\nauthorization: Bearer abc\r\nX-HAJIB-ACTOR: alice@noc\r\n"
                    "Content-Length: 2\r\n\r\n{}") == RequestReader::State::complete);
  CHECK(r.request().method == "POST");
  CHECK(r.request().path == "/admin/reload");
  CHECK(r.request().authorization == "Bearer abc");
  CHECK(r.request().actor == "alice@noc");
  CHECK(r.request().body == "{}");
}

TEST_CASE("a request that arrives a byte at a time reads the same, a header split across reads included") {
  RequestReader r;
  const std::string bytes = "GET /stats HTTP/1.1\r\nAuthorization: Bearer split-token\r\n\r\n";
  for (size_t i = 0; i + 1 < bytes.size(); ++i) REQUIRE(r.feed(&bytes[i], 1) == RequestReader::State::reading);
  CHECK(r.feed(&bytes.back(), 1) == RequestReader::State::complete);
  CHECK(r.request().authorization == "Bearer split-token");
}

TEST_CASE("a body of 64 KiB is taken; one byte more is 413, declared or chunked") {
  RequestReader at_bound;
  CHECK(read_all(at_bound, post_with_body(RequestReader::kMaxBody)) == RequestReader::State::complete);
  CHECK(at_bound.request().body.size() == RequestReader::kMaxBody);

  RequestReader declared;  // refused on its Content-Length, before the body comes
  CHECK(read_all(declared, "POST /admin/bans HTTP/1.1\r\nContent-Length: 65537\r\n\r\n") == RequestReader::State::failed);
  CHECK(declared.error_status() == 413);

  RequestReader chunked;
  std::string chunk(RequestReader::kMaxBody / 2 + 1, 'x');
  std::string bytes = "POST /admin/bans HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 2; ++i) bytes += fmt::format("{:x}\r\n{}\r\n", chunk.size(), chunk);
  bytes += "0\r\n\r\n";
  CHECK(read_all(chunked, bytes) == RequestReader::State::failed);
  CHECK(chunked.error_status() == 413);
}

TEST_CASE("headers past 8 KiB, or bytes that are not HTTP, are 400") {
  RequestReader long_head;
  CHECK(read_all(long_head, "GET /stats HTTP/1.1\r\nX-Pad: " + std::string(RequestReader::kMaxHead, 'a')) == RequestReader::State::failed);
  CHECK(long_head.error_status() == 400);
  RequestReader garbage;
  CHECK(read_all(garbage, "\x16\x03\x01 hello\r\n\r\n") == RequestReader::State::failed);
  CHECK(garbage.error_status() == 400);
}

TEST_CASE("routes: an exact path, a '*' segment captured and percent-decoded, HEAD served by GET") {
  Routes t;
  CHECK(t.ask("GET", "/stats").body == "stats");
  CHECK(t.ask("HEAD", "/stats").status == 200);
  CHECK(t.ask("POST", "/admin/sessions/12/kick").body == "kick 12");
  CHECK(t.ask("POST", "/admin/sessions/a%2Fb/kick").body == "kick a/b");
  CHECK(t.ask("POST", "/admin/sessions//kick").status == 404);
  CHECK(t.ask("GET", "/stats/more").status == 404);
  CHECK(t.ask("GET", "/").status == 404);
  t.server.route("GET", "/", [](const proxy::HttpRequest&, proxy::HttpResponse& r) { r.body = "page"; });
  CHECK(t.ask("GET", "/").body == "page");
  CHECK(t.ask("GET", "//").status == 404);
}

TEST_CASE("a path served under another method is 405 with Allow; an unknown path is 404 naming the pages") {
  Routes t;
  auto post = t.ask("POST", "/stats");
  CHECK(post.status == 405);
  REQUIRE(post.headers.size() == 1);
  CHECK(post.headers[0] == std::pair<std::string, std::string>{"Allow", "GET, HEAD"});
  CHECK(t.ask("GET", "/admin/sessions/1/kick").headers.at(0).second == "POST");
  auto missing = t.ask("GET", "/nothing");
  CHECK(missing.status == 404);
  CHECK(missing.body == "try /stats\n");
}

TEST_CASE("a guard answers for every path under its prefix before any route, or lets the route answer") {
  Routes t;
  bool open = false;
  t.server.guard("/admin/", [&open](const proxy::HttpRequest&, proxy::HttpResponse& r) {
    if (open) return false;
    r.status = 401;
    return true;
  });
  CHECK(t.ask("POST", "/admin/sessions/12/kick").status == 401);
  CHECK(t.ask("GET", "/admin/sessions/12/kick").status == 401);  // before the 405: nothing is told without the token
  CHECK(t.ask("GET", "/stats").status == 200);
  open = true;
  CHECK(t.ask("POST", "/admin/sessions/12/kick").body == "kick 12");
}
