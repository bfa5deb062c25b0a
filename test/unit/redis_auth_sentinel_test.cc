// proxy/state: AUTH and ACL users on a new connection, a subscribed link's messages, and what a
// sentinel says (its replies parsed as hostile input), against the unit tests' redis-server.
#include <catch2/catch.hpp>

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <uv.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "proxy/state/redis_link.h"
#include "proxy/state/sentinel.h"
#include "proxy/state/store.h"
#include "proxy/stats/stats.h"
#include "test/unit/redis_server.h"
#include "test/unit/run_until.h"

namespace {

using test_redis::RedisServer;

bool have_redis() {
  auto& server = RedisServer::instance();
  if (!server.running()) {
    WARN(server.why_not() << ": the AUTH cases are skipped");
    return false;
  }
  server.flush();
  return true;
}

void sync_command(std::initializer_list<const char*> args) {
  std::vector<const char*> argv(args);
  std::vector<size_t> lens;
  for (const char* a : argv) lens.push_back(std::strlen(a));
  auto* r = static_cast<redisReply*>(redisCommandArgv(RedisServer::instance().sync(), int(argv.size()), argv.data(), lens.data()));
  REQUIRE(r);
  CHECK(r->type != REDIS_REPLY_ERROR);
  freeReplyObject(r);
}

// An ACL user of the shared server, alone allowed its own keys' commands; the default user stays open.
void make_acl_user() { sync_command({"ACL", "SETUSER", "hajib-unit", "on", ">right-pw", "~*", "+@all"}); }

struct StoreOnLoop {
  uv_loop_t loop{};
  uv_timer_t pulse{};
  proxy::Counters counters;
  std::unique_ptr<proxy::StateStore> store;
  explicit StoreOnLoop(const std::function<void(proxy::Config&)>& tweak) {
    uv_loop_init(&loop);
    uv_timer_init(&loop, &pulse);
    proxy::Config config;
    config.redis_host = "127.0.0.1";
    config.redis_port = RedisServer::instance().port();
    tweak(config);
    store = proxy::make_redis_store(&loop, config, counters);
  }
  ~StoreOnLoop() {
    store->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&pulse), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }
  bool run_until(const std::function<bool()>& done, uint64_t ms = 3000) { return test_loop::run_until(&loop, &pulse, done, ms); }
  // Whether a write goes through (the store answers ok).
  bool writes() {
    std::optional<bool> ok;
    store->set_opted_out("acme", "966500000001", true, [&](bool r) { ok = r; });
    run_until([&] { return ok.has_value(); });
    return ok.value_or(false);
  }
};

struct Loop {
  uv_loop_t loop{};
  Loop() { uv_loop_init(&loop); }
};

struct Link : Loop, proxy::RedisLink::Events {
  uv_timer_t pulse{};
  proxy::RedisLink link{&loop, *this};
  std::vector<std::string> downs;
  Link() { uv_timer_init(&loop, &pulse); }
  ~Link() {
    link.close();
    uv_close(reinterpret_cast<uv_handle_t*>(&pulse), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }
  void link_up() override {}
  void link_down(std::string_view reason) override { downs.emplace_back(reason); }
  void error_reply(std::string_view) override {}
  bool run_until(const std::function<bool()>& done) { return test_loop::run_until(&loop, &pulse, done); }
};

// A reply built by hand, as hiredis' reader would hand it over.
struct FakeReply {
  std::vector<std::string> texts;
  std::vector<redisReply> items;
  std::vector<redisReply*> pointers;
  redisReply array{};
  explicit FakeReply(std::vector<std::string> words, int type = REDIS_REPLY_STRING) : texts(std::move(words)) {
    items.resize(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      items[i] = redisReply{};
      items[i].type = type;
      items[i].str = texts[i].data();
      items[i].len = texts[i].size();
      pointers.push_back(&items[i]);
    }
    array.type = REDIS_REPLY_ARRAY;
    array.elements = pointers.size();
    array.element = pointers.data();
  }
};

}  // namespace

TEST_CASE("redis store: state.password given to a Redis whose default user has none is refused, not ignored", "[redis]") {
  if (!have_redis()) return;
  // Redis answers AUTH password with an error when the default user has no password: a
  // configuration that does not match the server is said, and the store stays down.
  StoreOnLoop s([](proxy::Config& c) { c.redis_password = "anything"; });
  REQUIRE(s.run_until([&] { return s.counters.state_errors > 0; }));
  CHECK_FALSE(s.store->up());
}

TEST_CASE("redis store: as an ACL user with its password it is up and writes", "[redis]") {
  if (!have_redis()) return;
  make_acl_user();
  StoreOnLoop s([](proxy::Config& c) { c.redis_username = "hajib-unit"; c.redis_password = "right-pw"; });
  REQUIRE(s.run_until([&] { return s.store->up(); }));
  CHECK(s.writes());
}

TEST_CASE("redis store: a refused password keeps the store down, counted, and writes fail instead of crashing", "[redis]") {
  if (!have_redis()) return;
  make_acl_user();
  StoreOnLoop s([](proxy::Config& c) { c.redis_username = "hajib-unit"; c.redis_password = "wrong-pw"; });
  REQUIRE(s.run_until([&] { return s.counters.state_errors > 0; }));
  s.run_until([] { return false; }, 300);
  CHECK_FALSE(s.store->up());
  CHECK_FALSE(s.writes());
}

TEST_CASE("redis store: a database other than 0 is selected after AUTH, before any write", "[redis]") {
  if (!have_redis()) return;
  make_acl_user();
  {
    StoreOnLoop s([](proxy::Config& c) { c.redis_username = "hajib-unit"; c.redis_password = "right-pw"; c.redis_db = 3; });
    REQUIRE(s.run_until([&] { return s.store->up(); }));
    REQUIRE(s.writes());
  }
  const std::string key = proxy::keys::opted_out("acme");
  auto exists = [&] {
    auto* r = static_cast<redisReply*>(redisCommand(RedisServer::instance().sync(), "EXISTS %s", key.c_str()));
    long long n = r ? r->integer : -1;
    freeReplyObject(r);
    return n;
  };
  CHECK(exists() == 0);  // not in db 0
  freeReplyObject(redisCommand(RedisServer::instance().sync(), "SELECT 3"));
  CHECK(exists() == 1);
  freeReplyObject(redisCommand(RedisServer::instance().sync(), "FLUSHDB"));
  freeReplyObject(redisCommand(RedisServer::instance().sync(), "SELECT 0"));
}

TEST_CASE("redis link: a subscribed link hands published messages to on_push and stays up", "[redis]") {
  if (!have_redis()) return;
  Link l;
  std::vector<std::string> got;
  l.link.on_push([&](const redisReply* r) {
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3) got.emplace_back(r->element[2]->str, r->element[2]->len);
  });
  l.link.connect("127.0.0.1", RedisServer::instance().port());
  REQUIRE(l.run_until([&] { return l.link.up(); }));
  bool subscribed = false;
  l.link.command({"SUBSCRIBE", "+switch-master"}, [&](const redisReply* r) { subscribed = r != nullptr; });
  REQUIRE(l.run_until([&] { return subscribed; }));
  sync_command({"PUBLISH", "+switch-master", "hajib 10.0.0.1 6379 10.0.0.2 6379"});
  REQUIRE(l.run_until([&] { return got.size() == 1; }));
  CHECK(got[0] == "hajib 10.0.0.1 6379 10.0.0.2 6379");
  CHECK(l.link.up());
  CHECK(l.downs.empty());
}

TEST_CASE("redis link: without on_push, a reply to no command drops the link", "[redis]") {
  if (!have_redis()) return;
  Link l;
  l.link.connect("127.0.0.1", RedisServer::instance().port());
  REQUIRE(l.run_until([&] { return l.link.up(); }));
  bool subscribed = false;
  l.link.command({"SUBSCRIBE", "news"}, [&](const redisReply* r) { subscribed = r != nullptr; });
  REQUIRE(l.run_until([&] { return subscribed; }));
  sync_command({"PUBLISH", "news", "x"});
  REQUIRE(l.run_until([&] { return !l.downs.empty(); }));
  CHECK(l.downs[0] == "a reply to no command");
}

TEST_CASE("sentinel: get-master-addr-by-name's two strings are the master; anything else is no answer") {
  FakeReply good({"10.0.0.2", "6380"});
  auto e = proxy::SentinelWatch::parse_master_reply(&good.array);
  REQUIRE(e);
  CHECK(e->host == "10.0.0.2");
  CHECK(e->port == 6380);
  for (auto words : std::vector<std::vector<std::string>>{
           {"10.0.0.2"}, {"10.0.0.2", "6380", "x"}, {"10.0.0.2", "0"}, {"10.0.0.2", "65536"}, {"10.0.0.2", "63a"},
           {"", "6379"}, {"10.0.0.2", ""}, {"10.0 .2", "6379"}, {std::string(300, 'h'), "6379"}}) {
    FakeReply bad(words);
    CHECK_FALSE(proxy::SentinelWatch::parse_master_reply(&bad.array));
  }
  redisReply nil{};
  nil.type = REDIS_REPLY_NIL;  // the sentinel does not know the name
  CHECK_FALSE(proxy::SentinelWatch::parse_master_reply(&nil));
  CHECK_FALSE(proxy::SentinelWatch::parse_master_reply(nullptr));
  FakeReply integers({"1", "2"}, REDIS_REPLY_INTEGER);
  CHECK_FALSE(proxy::SentinelWatch::parse_master_reply(&integers.array));
}

TEST_CASE("sentinel: +switch-master for our name gives the new address; another name or a bad shape is ignored") {
  FakeReply ours({"message", "+switch-master", "hajib 10.0.0.1 6379 10.0.0.2 6380"});
  auto e = proxy::SentinelWatch::parse_switch_message(&ours.array, "hajib");
  REQUIRE(e);
  CHECK(e->host == "10.0.0.2");
  CHECK(e->port == 6380);
  CHECK_FALSE(proxy::SentinelWatch::parse_switch_message(&ours.array, "other"));
  for (const char* text : {"hajib 10.0.0.1 6379 10.0.0.2", "hajib 10.0.0.1 6379 10.0.0.2 6380 extra",
                           "hajib 10.0.0.1 6379 10.0.0.2 99999", "hajibX 10.0.0.1 6379 10.0.0.2 6380", ""}) {
    FakeReply bad({"message", "+switch-master", text});
    CHECK_FALSE(proxy::SentinelWatch::parse_switch_message(&bad.array, "hajib"));
  }
  FakeReply other_channel({"message", "+sdown", "hajib 10.0.0.1 6379 10.0.0.2 6380"});
  CHECK_FALSE(proxy::SentinelWatch::parse_switch_message(&other_channel.array, "hajib"));
}

namespace {

// A sentinel that we write: on the loop, answering get-master-addr-by-name with `master` (empty:
// nil, as a sentinel that does not know the name), SUBSCRIBE with the usual three elements.
struct FakeSentinel {
  uv_tcp_t server{};
  uint16_t port = 0;
  std::string master_host;
  uint16_t master_port = 0;
  int asked = 0;
  std::vector<uv_tcp_t*> clients;

  FakeSentinel(uv_loop_t* loop, std::string host, uint16_t mport) : master_host(std::move(host)), master_port(mport) {
    uv_tcp_init(loop, &server);
    server.data = this;
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&addr), 0);
    sockaddr_in bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&bound), &len);
    port = ntohs(bound.sin_port);
    uv_listen(reinterpret_cast<uv_stream_t*>(&server), 8, [](uv_stream_t* s, int) {
      auto* self = static_cast<FakeSentinel*>(s->data);
      auto* c = new uv_tcp_t;
      uv_tcp_init(s->loop, c);
      c->data = self;
      uv_accept(s, reinterpret_cast<uv_stream_t*>(c));
      self->clients.push_back(c);
      uv_read_start(
          reinterpret_cast<uv_stream_t*>(c),
          [](uv_handle_t*, size_t, uv_buf_t* buf) {
            static char in[4096];
            *buf = uv_buf_init(in, sizeof in);
          },
          [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
            if (n <= 0) return;
            static_cast<FakeSentinel*>(stream->data)->answer(stream, std::string(buf->base, size_t(n)));
          });
    });
  }
  void answer(uv_stream_t* to, const std::string& request) {
    std::string out;
    if (request.find("get-master-addr-by-name") != std::string::npos) {
      ++asked;
      std::string p = std::to_string(master_port);
      out = master_host.empty() ? "$-1\r\n"
                                : "*2\r\n$" + std::to_string(master_host.size()) + "\r\n" + master_host + "\r\n$" +
                                      std::to_string(p.size()) + "\r\n" + p + "\r\n";
    }
    if (request.find("SUBSCRIBE") != std::string::npos) out += "*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n";
    if (out.empty()) return;
    auto* req = new uv_write_t;
    auto* copy = new std::string(std::move(out));
    req->data = copy;
    uv_buf_t buf = uv_buf_init(copy->data(), unsigned(copy->size()));
    uv_write(req, to, &buf, 1, [](uv_write_t* r, int) {
      delete static_cast<std::string*>(r->data);
      delete r;
    });
  }
  void close() {
    for (uv_tcp_t* c : clients)
      uv_close(reinterpret_cast<uv_handle_t*>(c), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    clients.clear();
    uv_close(reinterpret_cast<uv_handle_t*>(&server), nullptr);
  }
};

}  // namespace

TEST_CASE("redis store with sentinels: a sentinel that does not know the master is passed over; the next one's master is used", "[redis]") {
  if (!have_redis()) return;
  uv_loop_t loop{};
  uv_loop_init(&loop);
  FakeSentinel ignorant(&loop, "", 0), knowing(&loop, "127.0.0.1", RedisServer::instance().port());
  {
    uv_timer_t pulse{};
    uv_timer_init(&loop, &pulse);
    proxy::Counters counters;
    proxy::Config config;
    config.redis_sentinels = {{"127.0.0.1", ignorant.port}, {"127.0.0.1", knowing.port}};
    config.redis_master = "hajib";
    auto store = proxy::make_redis_store(&loop, config, counters);
    CHECK(test_loop::run_until(&loop, &pulse, [&] { return store->up(); }));
    CHECK(ignorant.asked >= 1);
    CHECK(knowing.asked == 1);
    store->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&pulse), nullptr);
    ignorant.close();
    knowing.close();
    uv_run(&loop, UV_RUN_DEFAULT);  // the store's handles close before it goes
  }
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("redis store with sentinels: no sentinel naming a master leaves the store down and asking, without a crash", "[redis]") {
  uv_loop_t loop{};
  uv_loop_init(&loop);
  FakeSentinel ignorant(&loop, "", 0);
  {
    uv_timer_t pulse{};
    uv_timer_init(&loop, &pulse);
    proxy::Counters counters;
    proxy::Config config;
    config.redis_sentinels = {{"127.0.0.1", ignorant.port}};
    config.redis_master = "hajib";
    auto store = proxy::make_redis_store(&loop, config, counters);
    CHECK(test_loop::run_until(&loop, &pulse, [&] { return ignorant.asked >= 2; }));  // asked again after a pause
    CHECK_FALSE(store->up());
    store->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&pulse), nullptr);
    ignorant.close();
    uv_run(&loop, UV_RUN_DEFAULT);  // the store's handles close before it goes
  }
  CHECK(uv_loop_close(&loop) == 0);
}
