// proxy/state/redis_link: the pipelined connection to Redis, against a real redis-server.
#include <catch2/catch.hpp>

#include <hiredis/hiredis.h>
#include <uv.h>

#include <string>
#include <vector>

#include "proxy/state/redis_link.h"
#include "test/unit/heap_count.h"
#include "test/unit/redis_server.h"
#include "test/unit/run_until.h"

namespace {

using proxy::RedisLink;
using test_redis::RedisServer;

struct Loop {
  uv_loop_t loop{};
  Loop() { uv_loop_init(&loop); }
};

// A link on its own loop (made first), with what its events said.
struct Link : Loop, RedisLink::Events {
  uv_timer_t pulse{};
  RedisLink link{&loop, *this};
  int ups = 0;
  std::vector<std::string> downs, errors;

  Link() { uv_timer_init(&loop, &pulse); }
  ~Link() {
    link.close();
    uv_close(reinterpret_cast<uv_handle_t*>(&pulse), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }
  void link_up() override { ++ups; }
  void link_down(std::string_view reason) override { downs.emplace_back(reason); }
  void error_reply(std::string_view message) override { errors.emplace_back(message); }

  template <typename Done>
  bool run_until(Done done) {
    return test_loop::run_until(&loop, &pulse, done);
  }
  bool connect() {
    link.connect("127.0.0.1", RedisServer::instance().port());
    return run_until([&] { return link.up(); });
  }
};

bool have_redis() {
  auto& server = RedisServer::instance();
  if (!server.running()) {
    WARN(server.why_not() << ": the redis link cases are skipped");
    return false;
  }
  server.flush();
  return true;
}

}  // namespace

TEST_CASE("redis link: a thousand commands of one loop turn are answered in order, each to its own callback", "[redis]") {
  if (!have_redis()) return;
  Link l;
  REQUIRE(l.connect());
  std::vector<long long> got;
  const uint64_t writes = l.link.writes();
  for (int i = 0; i < 1000; ++i) {
    const std::string_view incr[] = {"INCR", "counter"};
    l.link.command(incr, [&](const redisReply* r) { got.push_back(r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1); });
  }
  CHECK(l.link.in_flight() == 1000);
  CHECK(l.link.writes() == writes);  // nothing written yet: the turn is not over
  REQUIRE(l.run_until([&] { return got.size() == 1000; }));
  CHECK(l.link.writes() == writes + 1);  // the turn's commands went out in one write
  for (int i = 0; i < 1000; ++i) CHECK(got[size_t(i)] == i + 1);
  CHECK(l.link.in_flight() == 0);
}

TEST_CASE("redis link: binary arguments go as they are, NULs and CRLFs included", "[redis]") {
  if (!have_redis()) return;
  Link l;
  REQUIRE(l.connect());
  const std::string value("a\0b\r\nc", 6);
  const std::string_view set[] = {"SET", "k", value}, get[] = {"GET", "k"};
  std::string read;
  bool done = false;
  l.link.command(set, nullptr);
  l.link.command(get, [&](const redisReply* r) {
    if (r && r->type == REDIS_REPLY_STRING) read.assign(r->str, r->len);
    done = true;
  });
  REQUIRE(l.run_until([&] { return done; }));
  CHECK(read == value);
}

TEST_CASE("redis link: a script's nested array reply is read whole", "[redis]") {
  if (!have_redis()) return;
  Link l;
  REQUIRE(l.connect());
  const std::string_view eval[] = {"EVAL", "return {1, {2, 'two'}, 'three', false}", "0"};
  bool done = false;
  l.link.command(eval, [&](const redisReply* r) {
    done = true;
    REQUIRE(r);
    REQUIRE(r->type == REDIS_REPLY_ARRAY);
    REQUIRE(r->elements == 4);
    CHECK(r->element[0]->integer == 1);
    REQUIRE(r->element[1]->type == REDIS_REPLY_ARRAY);
    CHECK(r->element[1]->element[0]->integer == 2);
    CHECK(std::string(r->element[1]->element[1]->str) == "two");
    CHECK(std::string(r->element[2]->str) == "three");
    CHECK(r->element[3]->type == REDIS_REPLY_NIL);
  });
  REQUIRE(l.run_until([&] { return done; }));
}

TEST_CASE("redis link: an error reply fails its command (no reply) and is reported; the next command is unharmed", "[redis]") {
  if (!have_redis()) return;
  Link l;
  REQUIRE(l.connect());
  const std::string_view bad[] = {"NOSUCHCOMMAND"}, ping[] = {"PING"};
  int calls = 0;
  const redisReply* first = reinterpret_cast<const redisReply*>(1);
  std::string pong;
  l.link.command(bad, [&](const redisReply* r) { first = r, ++calls; });
  l.link.command(ping, [&](const redisReply* r) { pong = r ? r->str : "", ++calls; });
  REQUIRE(l.run_until([&] { return calls == 2; }));
  CHECK(first == nullptr);
  REQUIRE(l.errors.size() == 1);
  CHECK(l.errors[0].starts_with("ERR"));
  CHECK(pong == "PONG");
  CHECK(l.link.up());
}

TEST_CASE("redis link: when Redis closes the link, the commands after the close fail, then link_down", "[redis]") {
  if (!have_redis()) return;
  Link l;
  REQUIRE(l.connect());
  const std::string_view quit[] = {"QUIT"}, ping[] = {"PING"};
  std::vector<std::string> seen;
  l.link.command(quit, [&](const redisReply* r) { seen.push_back(r ? r->str : "none"); });
  l.link.command(ping, [&](const redisReply* r) { seen.push_back(r ? r->str : "none"); });
  REQUIRE(l.run_until([&] { return !l.downs.empty(); }));
  CHECK(seen == std::vector<std::string>{"OK", "none"});
  CHECK(l.downs[0] == "closed by redis");
  CHECK_FALSE(l.link.up());
  CHECK(l.link.in_flight() == 0);
  REQUIRE(l.connect());  // and it connects again
}

TEST_CASE("redis link: a dropped link fails what waits, in order, before link_down", "[redis]") {
  if (!have_redis()) return;
  Link l;
  REQUIRE(l.connect());
  std::vector<int> failed;
  for (int i = 0; i < 3; ++i) {
    const std::string_view ping[] = {"PING"};
    l.link.command(ping, [&, i](const redisReply* r) {
      CHECK(l.downs.empty());
      if (!r) failed.push_back(i);
    });
  }
  l.link.drop("no answer");
  CHECK(failed == std::vector<int>{0, 1, 2});
  CHECK(l.downs == std::vector<std::string>{"no answer"});
}

TEST_CASE("redis link: close writes what is queued and waits for its answers (a shutdown's last usage counts)", "[redis]") {
  if (!have_redis()) return;
  std::string answer;
  {
    Link l;
    REQUIRE(l.connect());
    const std::string_view set[] = {"SET", "last-words", "kept"};
    l.link.command(set, [&](const redisReply* r) { answer = r ? r->str : "none"; });
    l.link.close();  // in the same loop turn: nothing was written yet
    CHECK(answer.empty());
  }  // ~Link runs the loop until the link has closed
  CHECK(answer == "OK");
  auto* reply = static_cast<redisReply*>(redisCommand(RedisServer::instance().sync(), "GET last-words"));
  REQUIRE(reply);
  CHECK(std::string(reply->str ? reply->str : "") == "kept");
  freeReplyObject(reply);
}

TEST_CASE("redis link: nobody listening is link_down, not a hang", "[redis]") {
  Link l;
  l.link.connect("127.0.0.1", test_redis::free_loopback_port());
  REQUIRE(l.run_until([&] { return !l.downs.empty(); }));
  CHECK(l.downs[0] == "connection refused");
  CHECK(l.ups == 0);
}

TEST_CASE("redis link: once warm, a turn of commands and replies allocates nothing", "[redis]") {
  if (!have_redis()) return;
  Link l;
  REQUIRE(l.connect());
  size_t answered = 0;
  // A turn like the receipt map's: fire-and-forget writes, one callback at the end.
  auto turn = [&] {
    for (int i = 0; i < 500; ++i) {
      const std::string_view hset[] = {"HSET", "bucket", "operator-id-0123456789", "value-of-the-mapping"};
      const std::string_view expire[] = {"EXPIRE", "bucket", "3600"};
      l.link.command(hset, nullptr);
      l.link.command(expire, i == 499 ? RedisLink::Reply([&](const redisReply*) { ++answered; }) : nullptr);
    }
    const std::string_view eval[] = {"EVAL", "return {1, 2, 'three'}", "0"};
    l.link.command(eval, [&](const redisReply*) { ++answered; });
  };
  for (int round = 0; round < 3; ++round) {
    turn();
    REQUIRE(l.run_until([&] { return l.link.in_flight() == 0; }));
  }
  size_t before = heap_count::allocations();
  turn();
  bool settled = l.run_until([&] { return l.link.in_flight() == 0; });
  size_t allocations = heap_count::allocations() - before;
  REQUIRE(settled);
  CHECK(answered == 8);
  CHECK(allocations == 0);
}
