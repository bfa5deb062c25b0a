// proxy/state: one contract, every store. The same cases run against the memory store and a real
// redis-server (started here on a free loopback port, stopped by its pid when the tests end).
#include <catch2/catch.hpp>

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "proxy/state/store.h"
#include "test/unit/redis_server.h"
#include "test/unit/run_until.h"
#include "proxy/stats/stats.h"

namespace {

using Rule = policy::Rule;
using test_redis::RedisServer;
using Items = std::vector<std::pair<std::string, std::string>>;

// ---- the stores ----

struct MemoryBackend {
  static constexpr bool reads_back_usage = false;       // it has no way to show its tallies
  static constexpr bool keeps_held_for_owner = false;  // one process: nothing held outlives it
  bool available() { return true; }
  std::unique_ptr<proxy::StateStore> make(uv_loop_t* loop, proxy::Counters&) { return proxy::make_memory_store(loop); }
  std::optional<long long> usage_field(const std::string&, int64_t, const std::string&) { return std::nullopt; }
};

struct RedisBackend {
  static constexpr bool reads_back_usage = true;
  static constexpr bool keeps_held_for_owner = true;
  bool available() {
    auto& server = RedisServer::instance();
    if (!server.running()) {
      static bool warned = false;
      if (!warned) WARN(server.why_not() << ": the store contract runs against the memory store only");
      warned = true;
      return false;
    }
    server.flush();  // every case starts from an empty database
    return true;
  }
  std::unique_ptr<proxy::StateStore> make(uv_loop_t* loop, proxy::Counters& counters) {
    proxy::Config config;
    config.redis_host = "127.0.0.1";
    config.redis_port = RedisServer::instance().port();
    config.receipt_buckets = 16;
    config.upstreams.push_back(proxy::UpstreamConfig{});
    config.upstreams.back().name = "stc";
    return proxy::make_redis_store(loop, config, counters);
  }
  std::optional<long long> usage_field(const std::string& account, int64_t day, const std::string& field) {
    std::string key = proxy::keys::usage(account, day);
    auto* reply = static_cast<redisReply*>(
        redisCommand(RedisServer::instance().sync(), "HGET %b %b", key.data(), key.size(), field.data(), field.size()));
    std::optional<long long> value;
    if (reply && reply->type == REDIS_REPLY_STRING) value = std::stoll(std::string(reply->str, reply->len));
    if (reply) freeReplyObject(reply);
    return value;
  }
};

// One store on its own loop; every call waits for its answer, which must never come inline.
template <typename Backend>
struct Contract {
  Backend backend;
  uv_loop_t loop{};
  uv_timer_t pulse{};
  proxy::Counters counters;
  std::unique_ptr<proxy::StateStore> store;
  bool ready = false;

  Contract() {
    uv_loop_init(&loop);
    uv_timer_init(&loop, &pulse);
    if (!backend.available()) return;
    store = backend.make(&loop, counters);
    REQUIRE(run_until([&] { return store->up(); }));
    ready = true;
  }
  ~Contract() {
    if (store) store->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&pulse), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }

  bool run_until(const std::function<bool()>& done) { return test_loop::run_until(&loop, &pulse, done); }
  // Starts a call, checks that its answer is not inline, waits for it.
  void await(const std::function<void(std::function<void()> answered)>& call) {
    bool answered = false;
    call([&] { answered = true; });
    CHECK_FALSE(answered);
    REQUIRE(run_until([&] { return answered; }));
  }

  Rule reserve(const proxy::StateReservation& r) {
    Rule result = Rule::count;
    await([&](auto answered) {
      store->reserve(r, [&, answered](bool ok, Rule failed) {
        CHECK(ok);
        result = failed;
        answered();
      });
    });
    return result;
  }
  bool done_call(const std::function<void(proxy::StateStore::Done)>& call) {
    bool result = false;
    await([&](auto answered) {
      call([&, answered](bool ok) {
        result = ok;
        answered();
      });
    });
    return result;
  }
  bool keep(const std::string& account, const std::string& key, const std::string& pdu, int max) {
    return done_call([&](auto done) { store->keep_delivery(account, key, pdu, max, 3600, done); });
  }
  Items kept(const std::string& account, int max) {
    Items items;
    await([&](auto answered) {
      store->kept_deliveries(account, max, [&, answered](bool ok, Items got) {
        CHECK(ok);
        items = std::move(got);
        answered();
      });
    });
    std::sort(items.begin(), items.end());
    return items;
  }
  std::optional<std::string> find(const std::string& upstream, const std::string& id) {
    std::optional<std::string> value;
    await([&](auto answered) {
      store->find_receipt(upstream, id, [&, answered](bool ok, std::optional<std::string> v) {
        CHECK(ok);
        value = std::move(v);
        answered();
      });
    });
    return value;
  }
  std::vector<proxy::StateStore::HeldPart> held(const std::string& owner, const std::string& account) {
    std::vector<proxy::StateStore::HeldPart> parts;
    await([&](auto answered) {
      store->held_parts(owner, account, [&, answered](bool ok, std::vector<proxy::StateStore::HeldPart> got) {
        CHECK(ok);
        parts = std::move(got);
        answered();
      });
    });
    return parts;
  }
};

proxy::StateReservation for_account(const std::string& account) {
  proxy::StateReservation r;
  r.account = account;
  r.sender = "ACME-INFO";
  r.number = "966501234567";
  r.number_hash = "h966501234567";
  r.saudi_day = 20605;
  return r;
}

const std::string kPdu("\x00\x00\x00\x15\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x01" "a\0b\0c", 21);  // binary, NULs inside

}  // namespace

#define STORES MemoryBackend, RedisBackend
// Scripts Redis has run (EVAL and EVALSHA), from INFO commandstats; 0 for the memory store.
template <typename Backend>
long long scripts_run() {
  if constexpr (!std::is_same_v<Backend, RedisBackend>) return 0;
  auto* reply = static_cast<redisReply*>(redisCommand(RedisServer::instance().sync(), "INFO commandstats"));
  long long calls = 0;
  if (reply && reply->type == REDIS_REPLY_STRING) {
    std::string info(reply->str, reply->len);
    for (const char* name : {"cmdstat_evalsha:calls=", "cmdstat_eval:calls="})
      if (size_t at = info.find(name); at != std::string::npos) calls += std::stoll(info.substr(at + std::strlen(name)));
  }
  if (reply) freeReplyObject(reply);
  return calls;
}

#define CONTRACT(c)            \
  Contract<TestType> c;        \
  if (!c.ready) return

TEMPLATE_TEST_CASE("store contract: throughput lets a burst of `rate` messages pass and refuses the next", "[store]", STORES) {
  CONTRACT(c);
  auto r = for_account("acme");
  r.needs.throughput = true;
  r.needs.rate = 3;
  CHECK(c.reserve(r) == Rule::none);
  CHECK(c.reserve(r) == Rule::none);
  CHECK(c.reserve(r) == Rule::none);
  CHECK(c.reserve(r) == Rule::account_throughput);
  CHECK(c.reserve(for_account("other")) == Rule::none);  // another account has its own bucket
}

TEMPLATE_TEST_CASE("store contract: the awareness cap counts per sender, number and Saudi day; a release gives one back", "[store]", STORES) {
  CONTRACT(c);
  auto r = for_account("acme");
  r.needs.awareness = true;
  r.needs.awareness_cap = 2;
  CHECK(c.reserve(r) == Rule::none);
  CHECK(c.reserve(r) == Rule::none);
  CHECK(c.reserve(r) == Rule::awareness_daily_cap);
  c.store->release(r);
  CHECK(c.reserve(r) == Rule::none);
  CHECK(c.reserve(r) == Rule::awareness_daily_cap);
  auto next_day = r;
  ++next_day.saudi_day;
  CHECK(c.reserve(next_day) == Rule::none);
  auto other_number = r;
  other_number.number_hash = "h966501234568";
  CHECK(c.reserve(other_number) == Rule::none);
}

TEMPLATE_TEST_CASE("store contract: a prepaid balance is charged per part and refused when it does not cover them", "[store]", STORES) {
  CONTRACT(c);
  auto r = for_account("acme");
  r.needs.charge = true;
  r.parts = 2;
  CHECK(c.reserve(r) == Rule::account_balance);  // nothing yet
  auto top_up = r;
  top_up.parts = 5;
  c.store->release(top_up);  // a refund of 5 units
  CHECK(c.reserve(r) == Rule::none);
  CHECK(c.reserve(r) == Rule::none);
  CHECK(c.reserve(r) == Rule::account_balance);  // 1 left, 2 asked
  r.parts = 1;
  CHECK(c.reserve(r) == Rule::none);
  CHECK(c.reserve(r) == Rule::account_balance);
}

TEMPLATE_TEST_CASE("store contract: a refused reservation takes nothing", "[store]", STORES) {
  CONTRACT(c);
  auto r = for_account("acme");
  r.needs.awareness = true;
  r.needs.awareness_cap = 1;
  r.needs.charge = true;  // no balance: refused
  CHECK(c.reserve(r) == Rule::account_balance);
  r.needs.charge = false;
  CHECK(c.reserve(r) == Rule::none);  // the awareness allowance was not spent by the refusal
  CHECK(c.reserve(r) == Rule::awareness_daily_cap);
}

TEMPLATE_TEST_CASE("store contract: an opted-out number is refused to that account until it opts in again", "[store]", STORES) {
  CONTRACT(c);
  auto r = for_account("acme");
  r.needs.opt_out = true;
  CHECK(c.reserve(r) == Rule::none);
  CHECK(c.done_call([&](auto done) { c.store->set_opted_out("acme", r.number, true, done); }));
  CHECK(c.reserve(r) == Rule::recipient_opted_out);
  CHECK(c.reserve(for_account("other")) == Rule::none);  // opted out of acme only
  auto other = r;
  other.number = "966501234568";
  CHECK(c.reserve(other) == Rule::none);
  auto not_asked = r;
  not_asked.needs.opt_out = false;  // only promotional messages ask
  CHECK(c.reserve(not_asked) == Rule::none);
  CHECK(c.done_call([&](auto done) { c.store->set_opted_out("acme", r.number, false, done); }));
  CHECK(c.reserve(r) == Rule::none);
}

TEMPLATE_TEST_CASE("store contract: kept deliveries are kept byte for byte, bounded per account, and forgotten", "[store]", STORES) {
  CONTRACT(c);
  CHECK(c.keep("acme", "m:1", kPdu, 2));
  CHECK(c.keep("acme", "m:2", "second", 2));
  CHECK_FALSE(c.keep("acme", "m:3", "third", 2));  // full
  CHECK(c.keep("acme", "m:1", kPdu + "!", 2));     // one it has already: replaced, not refused
  CHECK(c.keep("other", "m:1", "theirs", 2));      // every account has its own
  CHECK(c.kept("acme", 10) == Items{{"m:1", kPdu + "!"}, {"m:2", "second"}});
  c.store->forget_delivery("acme", "m:1");
  CHECK(c.kept("acme", 10) == Items{{"m:2", "second"}});
  CHECK(c.kept("other", 10) == Items{{"m:1", "theirs"}});
  CHECK(c.kept("nobody", 10).empty());
}

TEMPLATE_TEST_CASE("store contract: kept deliveries come back at least `max` at a time when there are that many", "[store]", STORES) {
  CONTRACT(c);
  for (int i = 0; i < 5; ++i) CHECK(c.keep("acme", "m:" + std::to_string(i), "pdu", 10));
  CHECK(c.kept("acme", 2).size() >= 2);
  CHECK(c.kept("acme", 10).size() == 5);
}

// A hash of up to 128 fields is one listpack, which a single HSCAN returns whole whatever its
// COUNT: the script caps what it collects.
TEMPLATE_TEST_CASE("store contract: kept deliveries come back at most twice `max` at a time", "[store]", STORES) {
  CONTRACT(c);
  for (int i = 0; i < 5; ++i) CHECK(c.keep("acme", "m:" + std::to_string(i), "pdu", 10));
  CHECK(c.kept("acme", 2).size() <= 4);
}

TEMPLATE_TEST_CASE("store contract: a receipt mapping is found by upstream and operator id until it is forgotten", "[store]", STORES) {
  CONTRACT(c);
  int64_t expires = int64_t(std::time(nullptr)) + 3600;
  CHECK(c.done_call([&](auto done) { c.store->remember_receipt("stc", "7010000001", "acme\t00000a0000000001", expires, done); }));
  CHECK(c.find("stc", "7010000001") == std::optional<std::string>("acme\t00000a0000000001"));
  CHECK(c.find("mobily", "7010000001") == std::nullopt);  // another operator's ids are another space
  CHECK(c.find("stc", "7010000002") == std::nullopt);
  c.store->forget_receipt("stc", "7010000001");
  CHECK(c.find("stc", "7010000001") == std::nullopt);
}

TEMPLATE_TEST_CASE("store contract: a turn's receipt mappings are confirmed together, and not when one of them failed", "[store]", STORES) {
  CONTRACT(c);
  int64_t expires = int64_t(std::time(nullptr)) + 3600;
  using Mapping = proxy::StateStore::ReceiptMapping;
  std::vector<Mapping> batch = {{"stc", "7010000011", "acme\t00000a0000000011", expires},
                                {"stc", "7010000012", "acme\t00000a0000000012", expires}};
  CHECK(c.done_call([&](auto done) { c.store->remember_receipts(batch, done); }));
  CHECK(c.find("stc", "7010000011") == std::optional<std::string>("acme\t00000a0000000011"));
  CHECK(c.find("stc", "7010000012") == std::optional<std::string>("acme\t00000a0000000012"));
  if constexpr (std::is_same_v<TestType, RedisBackend>) {
    // The second mapping's bucket is made a string: its HSET fails (WRONGTYPE), the first's does
    // not, and the batch must not be reported written.
    std::string bucket = proxy::keys::receipt_bucket("stc", proxy::keys::receipt_bucket_of("7010000022", 16));
    freeReplyObject(redisCommand(RedisServer::instance().sync(), "SET %b x", bucket.data(), bucket.size()));
    std::vector<Mapping> poisoned = {{"stc", "7010000021", "acme\t00000a0000000021", expires},
                                     {"stc", "7010000022", "acme\t00000a0000000022", expires}};
    CHECK_FALSE(c.done_call([&](auto done) { c.store->remember_receipts(poisoned, done); }));
    CHECK(c.done_call([&](auto done) { c.store->remember_receipts(batch, done); }));  // the next batch is its own
  }
}

TEMPLATE_TEST_CASE("store contract: usage is counted once per batch number, per instance", "[store]", STORES) {
  CONTRACT(c);
  auto count = [&](const std::string& instance, uint64_t batch, int messages, int parts) {
    constexpr int64_t kNoonMinute = (20605 * 86400 + 9 * 3600) / 60;  // 12:00 in Saudi time on day 20605
    return c.done_call([&](auto done) { c.store->count_usage("acme", kNoonMinute, "service", messages, parts, instance, batch, done); });
  };
  CHECK(count("00001", 1, 2, 3));
  CHECK(count("00001", 1, 2, 3));  // sent again after an unknown outcome: acknowledged, not counted
  CHECK(count("00001", 2, 1, 1));
  CHECK(count("00002", 1, 1, 1));  // another instance numbers its own batches
  if (!TestType::reads_back_usage) return;  // see MemoryBackend
  CHECK(c.backend.usage_field("acme", 20605, "service:messages") == 4);
  CHECK(c.backend.usage_field("acme", 20605, "service:parts") == 5);
}

TEMPLATE_TEST_CASE("store contract: the volume watch reads the day, the last window, the same hour of the 7 days before, and the first day", "[store]", STORES) {
  CONTRACT(c);
  constexpr int64_t kDay = 20787;
  constexpr int64_t kNow = kDay * 86400 + 11 * 3600 + 5 * 60;  // 14:05 Saudi time
  uint64_t batch = 0;
  auto count = [&](int64_t unix_s, int messages) {
    CHECK(c.done_call([&](auto done) { c.store->count_usage("volacct", unix_s / 60, "service", messages, messages, "volume-test", ++batch, done); }));
  };
  count(kNow - 8 * 86400, 1000);      // 8 days ago: before the 7
  for (int back = 1; back <= 7; ++back) count(kNow - back * 86400, 70);  // this hour, each of the 7 days before
  count(kNow - 7 * 86400 + 3600, 9);  // another hour 7 days ago: not this one
  count(kNow - 11 * 60, 4);           // 11 minutes ago: outside a 10-minute window
  count(kNow - 9 * 60, 5);            // 13:56, in the window, in the hour before
  count(kNow, 6);                     // this minute
  proxy::StateStore::VolumeFigures f;
  c.await([&](auto answered) {
    c.store->volume_figures("volacct", kNow, 10, [&, answered](bool ok, proxy::StateStore::VolumeFigures got) {
      CHECK(ok);
      f = got;
      answered();
    });
  });
  CHECK(f.today == 15);
  CHECK(f.recent == 11);
  CHECK(f.same_hour_before == 7 * 70);
  CHECK(f.first_day == kDay - 8);
}

TEMPLATE_TEST_CASE("store contract: an account never counted has no volume figures and no first day", "[store]", STORES) {
  CONTRACT(c);
  proxy::StateStore::VolumeFigures f;
  f.today = 99;
  c.await([&](auto answered) {
    c.store->volume_figures("nobody", 20787 * 86400, 10, [&, answered](bool ok, proxy::StateStore::VolumeFigures got) {
      CHECK(ok);
      f = got;
      answered();
    });
  });
  CHECK(f.today == 0);
  CHECK(f.recent == 0);
  CHECK(f.first_day == -1);
}

TEMPLATE_TEST_CASE("store contract: a held part is kept, its holder reads it back, and no other instance takes it while claimed", "[store]", STORES) {
  CONTRACT(c);
  std::string blob = "00000a0000000001" + kPdu;
  CHECK(c.done_call([&](auto done) { c.store->hold_part("acme", "ACME:966501234567:42:3", "1", blob, 120, "00001", done); }));
  CHECK(c.held("00002", "acme").empty());  // 00001 holds it
  if (!TestType::keeps_held_for_owner) return;  // see MemoryBackend
  auto parts = c.held("00001", "acme");
  REQUIRE(parts.size() == 1);
  CHECK(parts[0].account == "acme");
  CHECK(parts[0].message == "ACME:966501234567:42:3");
  CHECK(parts[0].part == "1");
  CHECK(parts[0].blob == blob);
}

TEMPLATE_TEST_CASE("store contract: a forgotten long message leaves nothing to pick up", "[store]", STORES) {
  CONTRACT(c);
  CHECK(c.done_call([&](auto done) { c.store->hold_part("acme", "m1", "1", "blob", 120, "00001", done); }));
  c.store->forget_held("acme", "m1");
  CHECK(c.held("00001", "acme").empty());
  CHECK(c.held("00002", "acme").empty());
}

TEMPLATE_TEST_CASE("store contract: reservations made in one loop turn are decided one after another, in order", "[store]", STORES) {
  CONTRACT(c);
  // A prepaid balance of 3 and an awareness cap of 2, then 5 messages in the same turn (the Redis
  // store sends them in one script call): the first pass, the rest meet the rule that runs out.
  auto funded = for_account("acme");
  funded.parts = 3;
  funded.needs.charge = true;
  c.store->release(funded);  // a refund is how a balance is credited here
  c.find("stc", "0");        // a round trip after it: the refund is done (one connection, in order)
  auto r = for_account("acme");
  r.needs.charge = true;
  r.needs.awareness = true;
  r.needs.awareness_cap = 2;
  std::vector<Rule> results(5, Rule::count);
  int answered = 0;
  long long scripts_before = scripts_run<TestType>();
  for (size_t i = 0; i < results.size(); ++i) {
    auto message = r;
    if (i >= 3) message.number_hash = "h-number-" + std::to_string(i);  // its own awareness count; one balance
    c.store->reserve(message, [&, i](bool ok, Rule failed) {
      CHECK(ok);
      results[i] = failed;
      ++answered;
    });
  }
  CHECK(answered == 0);  // never inline
  REQUIRE(c.run_until([&] { return answered == 5; }));
  CHECK(results == std::vector<Rule>{Rule::none, Rule::none, Rule::awareness_daily_cap, Rule::none, Rule::account_balance});
  if constexpr (std::is_same_v<TestType, RedisBackend>) CHECK(scripts_run<TestType>() == scripts_before + 1);  // one call
  auto other = for_account("other");  // another account in the same turn is decided on its own
  CHECK(c.reserve(other) == Rule::none);
}

TEST_CASE("a Redis store closed with reservations still waiting for their turn answers them as down", "[store]") {
  Contract<RedisBackend> c;
  if (!c.ready) return;
  auto store = c.backend.make(&c.loop, c.counters);
  REQUIRE(c.run_until([&] { return store->up(); }));
  auto r = for_account("acme");
  r.needs.charge = true;
  int answered = 0;
  bool ok = true;
  store->reserve(r, [&](bool o, Rule) {
    ok = o;
    ++answered;
  });
  store->close();  // before the loop turn that would have sent it
  CHECK(answered == 1);
  CHECK_FALSE(ok);
  uint64_t until = uv_now(&c.loop) + 200;  // let the closed store's handles finish closing
  c.run_until([&] { return uv_now(&c.loop) >= until; });
  store.reset();
}

// ---- held messages (quiet hours, review): lua/hold.lua, held_due.lua, held_done.lua, held_release.lua ----
namespace {

proxy::HeldRecord held_record(const std::string& id, int64_t release_at, const std::string& campaign = "") {
  proxy::HeldRecord r;
  r.account = "acme";
  r.id = id;
  r.reason = campaign.empty() ? "quiet" : "review";
  r.campaign = campaign;
  r.release_at = release_at;
  r.source = "ACME-AD";
  r.destination = "966501234567";
  r.registered_delivery = 1;
  r.parts.push_back({id, kPdu});
  return r;
}

template <typename C>
bool hold(C& c, const proxy::HeldRecord& r, int64_t max_messages = 100, int64_t max_bytes = 1 << 20) {
  bool held = false;
  c.await([&](auto answered) {
    c.store->hold_message(r, max_messages, max_bytes, 3600, [&, answered](bool ok, bool h) {
      CHECK(ok);
      held = h;
      answered();
    });
  });
  return held;
}

template <typename C>
std::vector<std::string> due(C& c, int64_t now, const std::string& owner, int limit = 100) {
  std::vector<std::string> ids;
  c.await([&](auto answered) {
    c.store->due_held("acme", now, limit, owner, [&, answered](bool ok, std::vector<proxy::HeldRecord> got) {
      CHECK(ok);
      for (const auto& r : got) ids.push_back(r.id);
      answered();
    });
  });
  return ids;
}

}  // namespace

TEMPLATE_TEST_CASE("store contract: a held message comes back when due, whole, and not before", "[store]", STORES) {
  CONTRACT(c);
  REQUIRE(hold(c, held_record("00000a0000000001", 1000)));
  CHECK(due(c, 999, "00001").empty());
  std::vector<proxy::HeldRecord> got;
  c.await([&](auto answered) {
    c.store->due_held("acme", 1000, 10, "00001", [&, answered](bool, std::vector<proxy::HeldRecord> r) {
      got = std::move(r);
      answered();
    });
  });
  REQUIRE(got.size() == 1);
  CHECK(got[0].id == "00000a0000000001");
  CHECK(got[0].release_at == 1000);
  CHECK(got[0].source == "ACME-AD");
  CHECK(got[0].registered_delivery == 1);
  REQUIRE(got[0].parts.size() == 1);
  CHECK(got[0].parts[0].pdu == kPdu);  // binary, byte for byte
}

TEMPLATE_TEST_CASE("store contract: a due held message is leased to one instance at a time", "[store]", STORES) {
  CONTRACT(c);
  REQUIRE(hold(c, held_record("00000a0000000002", 1000)));
  CHECK(due(c, 2000, "00001") == std::vector<std::string>{"00000a0000000002"});
  CHECK(due(c, 2000, "00002").empty());  // 00001 is releasing it
  CHECK(due(c, 2000, "00001").size() == 1);  // its holder may read it again
}

TEMPLATE_TEST_CASE("store contract: the account's bound counts held messages and their bytes", "[store]", STORES) {
  CONTRACT(c);
  CHECK(hold(c, held_record("00000a0000000003", 1000), 2));
  CHECK(hold(c, held_record("00000a0000000004", 1000), 2));
  CHECK_FALSE(hold(c, held_record("00000a0000000005", 1000), 2));  // a third is over two
  CHECK(hold(c, held_record("00000a0000000003", 1000), 2));  // the same one again changes nothing
  c.store->held_done("acme", "00000a0000000003");
  CHECK(hold(c, held_record("00000a0000000005", 1000), 2));  // room again once one is done
  const auto big = held_record("00000a0000000006", 1000);
  CHECK_FALSE(hold(c, big, 100, int64_t(2 * held_record("x", 0).bytes() + big.bytes() - 1)));  // bytes too
}

TEMPLATE_TEST_CASE("store contract: a held message that is done is gone", "[store]", STORES) {
  CONTRACT(c);
  REQUIRE(hold(c, held_record("00000a0000000007", 1000)));
  c.store->held_done("acme", "00000a0000000007");
  CHECK(due(c, 5000, "00001").empty());
}

TEMPLATE_TEST_CASE("store contract: a campaign's held messages wait until it is released, then are due at that time", "[store]", STORES) {
  CONTRACT(c);
  REQUIRE(hold(c, held_record("00000a0000000008", 0, "c1")));
  REQUIRE(hold(c, held_record("00000a0000000009", 0, "c1")));
  REQUIRE(hold(c, held_record("00000a000000000a", 0, "c2")));
  CHECK(due(c, 1999999999, "00001").empty());  // open-ended: never due by the clock
  CHECK(c.done_call([&](auto done) { c.store->release_held("acme", "c1", "", 3000, done); }));
  CHECK(due(c, 2999, "00001").empty());
  auto ids = due(c, 3000, "00001");
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<std::string>{"00000a0000000008", "00000a0000000009"});  // c2 still waits
}

TEMPLATE_TEST_CASE("store contract: a dropped campaign's messages are due at once, marked dropped; the count follows", "[store]", STORES) {
  CONTRACT(c);
  REQUIRE(hold(c, held_record("00000a000000000b", 0, "c3")));
  REQUIRE(hold(c, held_record("00000a000000000c", 5000)));
  int64_t count = -1;
  c.await([&](auto answered) {
    c.store->held_count("acme", [&, answered](bool ok, int64_t n) {
      CHECK(ok);
      count = n;
      answered();
    });
  });
  CHECK(count == 2);
  CHECK(c.done_call([&](auto done) { c.store->drop_held("acme", "c3", "", done); }));
  std::vector<proxy::HeldRecord> got;
  c.await([&](auto answered) {
    c.store->due_held("acme", 10, 10, "00001", [&, answered](bool, std::vector<proxy::HeldRecord> r) {
      got = std::move(r);
      answered();
    });
  });
  REQUIRE(got.size() == 1);
  CHECK(got[0].id == "00000a000000000b");
  CHECK(got[0].dropped);
}
