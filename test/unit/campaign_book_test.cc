// The campaign book in Redis (proxy/state/lua/campaign_*.lua through RedisStore): notes, bounds, expiry under its lock.
#include <catch2/catch.hpp>

#include <hiredis/hiredis.h>
#include <uv.h>

#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/state/keys.h"
#include "proxy/state/store.h"
#include "proxy/stats/stats.h"
#include "test/unit/redis_server.h"
#include "test/unit/run_until.h"

namespace {

using test_redis::RedisServer;
using Items = std::vector<std::pair<std::string, std::string>>;

std::string sync_string(const char* format, const std::string& a, const std::string& b = "") {
  auto* r = static_cast<redisReply*>(redisCommand(RedisServer::instance().sync(), format, a.c_str(), b.c_str()));
  std::string out;
  if (r && r->type == REDIS_REPLY_STRING) out.assign(r->str, r->len);
  if (r && r->type == REDIS_REPLY_INTEGER) out = std::to_string(r->integer);
  if (r) freeReplyObject(r);
  return out;
}

// A Redis store on its own loop, against the test's redis-server (emptied first).
struct Book {
  uv_loop_t loop{};
  uv_timer_t pulse{};
  proxy::Counters counters;
  std::unique_ptr<proxy::StateStore> store;
  const int64_t now = int64_t(std::time(nullptr));  // Redis expires the book's keys by the real clock

  Book() {
    uv_loop_init(&loop);
    uv_timer_init(&loop, &pulse);
    RedisServer::instance().flush();
    proxy::Config config;
    config.redis_host = "127.0.0.1";
    config.redis_port = RedisServer::instance().port();
    store = proxy::make_redis_store(&loop, config, counters);
    REQUIRE(test_loop::run_until(&loop, &pulse, [&] { return store->up(); }));
  }
  ~Book() {
    store->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&pulse), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }

  void note(const std::string& id, const std::string& example, std::vector<std::string> links = {}) {
    proxy::StateStore::CampaignNote n;
    n.account = "shop";
    n.campaign = id;
    n.sender = "SHOP-AD";
    n.template_text = "{name}, sale";
    n.example = example;
    n.links = &links;
    n.now_s = now;
    n.pending_s = 72 * 3600;
    store->note_campaign(n);
    settle();
  }
  // Notes are never answered: a PING behind them is, once they are all done.
  void settle() {
    bool done = false;
    store->review_version([&](bool, std::optional<std::string>) { done = true; });
    REQUIRE(test_loop::run_until(&loop, &pulse, [&] { return done; }));
  }
  std::string field(const std::string& id, const std::string& name) {
    return sync_string("HGET %s %s", proxy::keys::campaign_record("shop", id), name);
  }
  Items expire(int64_t cutoff) {
    Items got;
    bool done = false;
    store->expire_campaigns("me", {"shop"}, now, cutoff, now + 3600, [&](bool ok, Items items) {
      CHECK(ok);
      got = std::move(items);
      done = true;
    });
    REQUIRE(test_loop::run_until(&loop, &pulse, [&] { return done; }));
    return got;
  }
  Items decided() {
    Items got;
    bool done = false;
    store->decided_campaigns("shop", now, [&](bool ok, Items items) {
      CHECK(ok);
      got = std::move(items);
      done = true;
    });
    REQUIRE(test_loop::run_until(&loop, &pulse, [&] { return done; }));
    return got;
  }
};

bool redis_here() {
  if (RedisServer::instance().running()) return true;
  WARN(RedisServer::instance().why_not() << ": the campaign book is not tested");
  return false;
}

}  // namespace

TEST_CASE("the first note writes the record, every note counts one more held, the first text stays the example") {
  if (!redis_here()) return;
  Book b;
  b.note("c1", "Dear Ahmed, sale", {"https://shop.example/a"});
  b.note("c1", "Dear Sara, sale", {"https://shop.example/b", "https://shop.example/a"});
  CHECK(b.field("c1", "state") == "pending");
  CHECK(b.field("c1", "held") == "2");
  CHECK(b.field("c1", "example") == "Dear Ahmed, sale");
  CHECK(b.field("c1", "template") == "{name}, sale");
  CHECK(sync_string("SCARD %s", proxy::keys::campaign_links("shop", "c1")) == "2");
  CHECK(sync_string("ZSCORE %s %s", proxy::keys::campaigns_pending("shop"), "c1") == std::to_string(b.now));
}

TEST_CASE("a campaign keeps at most 100 links") {
  if (!redis_here()) return;
  Book b;
  for (int n = 0; n < 6; ++n) {
    std::vector<std::string> links;
    for (int i = 0; i < 20; ++i) links.push_back("https://shop.example/" + std::to_string(n * 20 + i));
    b.note("c1", "sale", links);
  }
  CHECK(sync_string("SCARD %s", proxy::keys::campaign_links("shop", "c1")) == "100");
}

TEST_CASE("an account with 10,000 pending campaigns gets no new one; those it has still count") {
  if (!redis_here()) return;
  Book b;
  std::string pending = proxy::keys::campaigns_pending("shop");
  freeReplyObject(redisCommand(RedisServer::instance().sync(),
                               "EVAL %s 1 %s", "for i = 1, 10000 do redis.call('ZADD', KEYS[1], i, 'x' .. i) end", pending.c_str()));
  b.note("new", "sale");
  CHECK(b.field("new", "state").empty());
  CHECK(sync_string("ZCARD %s", pending) == "10000");
}

TEST_CASE("a campaign pending since the cutoff expires, by hajib, into the decided index; the version moves") {
  if (!redis_here()) return;
  Book b;
  b.note("old", "sale");
  CHECK(b.expire(b.now - 1).empty());  // first seen after the cutoff: not yet
  std::string before = sync_string("GET %s", proxy::keys::review_version);
  Items expired = b.expire(b.now);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0] == std::make_pair(std::string("shop"), std::string("old")));
  CHECK(b.field("old", "state") == "expired");
  CHECK(b.field("old", "by") == "hajib");
  CHECK(sync_string("ZCARD %s", proxy::keys::campaigns_pending("shop")) == "0");
  Items decided = b.decided();
  REQUIRE(decided.size() == 1);
  CHECK(decided[0].first == "old expired");
  CHECK(decided[0].second == std::to_string(b.now + 3600));
  b.settle();  // the INCR behind the expiry
  CHECK(sync_string("GET %s", proxy::keys::review_version) != before);
  CHECK(sync_string("EXISTS %s", proxy::keys::review_expiry_lock) == "0");  // let go once done
}

TEST_CASE("while another instance holds the expiry lock, this one expires nothing") {
  if (!redis_here()) return;
  Book b;
  b.note("old", "sale");
  sync_string("SET %s %s PX 10000", proxy::keys::review_expiry_lock, "other");
  CHECK(b.expire(b.now).empty());
  CHECK(b.field("old", "state") == "pending");
}
