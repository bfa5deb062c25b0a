// The volume watch (proxy/submit/volume_watch.h) on its own loop with the memory store: an alarm
// is raised once (counter, tally, surging()), not again while it stays, and cleared when the
// figures fall back; flagged messages reach the store once per tick, examples masked and distinct.
#include <catch2/catch.hpp>

#include "policy/saudi_time.h"
#include "proxy/submit/flags.h"
#include "proxy/submit/volume_watch.h"
#include "test/unit/stage_fakes.h"

using namespace stage_fakes;

namespace {

std::string config_with_volume(const std::string& volume) {
  return std::string(R"(listen: { smpp: "127.0.0.1:0", stats: "127.0.0.1:0" }
state: memory
upstreams:
  stc: { host: 127.0.0.1, port: 2776, system_id: hajib, password: pw }
routes:
  prefixes: { "96650": stc }
accounts:
  acme:
    password_hash: ")") + kPasswordHash + R"("
    allow_ips: [ "127.0.0.1/32" ]
    entity: private
    senders: { ACME: service }
    volume: )" + volume + "\n";
}

struct Watched {
  World world;
  proxy::VolumeWatch watch{*world.ctx, world.accounts};
  uint64_t batch = 0;
  uint64_t now_ms = 0;
  explicit Watched(const std::string& volume) : world(config_with_volume(volume)) {}

  void count(int64_t unix_s, int messages) {
    world.store->count_usage("acme", unix_s / 60, "service", messages, messages, "00001", ++batch, [](bool) {});
    world.settle();
  }
  // One check: the next one the pace allows.
  void check() {
    now_ms += proxy::VolumeWatch::kCheckMs;
    watch.on_tick(now_ms);
    world.settle();
  }
  const proxy::AccountTally& tally() { return world.account("acme").tally; }
};

}  // namespace

TEST_CASE("volume watch: daily_max passed raises the alarm once, surging() says so, and the next Saudi day clears it") {
  Watched w("{ daily_max: 3, on_surge: hold }");
  w.count(kDaytime, 3);
  w.check();
  CHECK_FALSE(w.watch.surging("acme"));
  w.count(kDaytime, 1);
  w.check();
  CHECK(w.tally().volume_over_daily_max);
  CHECK(w.watch.surging("acme"));
  CHECK(w.watch.on_surge("acme") == proxy::OnSurge::hold);
  CHECK(w.world.counters().volume_alarms == 1);
  w.check();  // still over: not raised again
  CHECK(w.world.counters().volume_alarms == 1);
  CHECK(w.tally().volume_daily_max_passed == 1);
  w.world.ctx->frozen_clock = kDaytime + 86400;
  w.check();
  CHECK_FALSE(w.watch.surging("acme"));
}

TEST_CASE("volume watch: a surge over the usual rate of the hour raises the alarm, and it clears when the window is quiet again") {
  Watched w("{ surge_factor: 2, window_min: 10 }");
  w.count(kDaytime - 8 * 86400 - 3600, 1);  // first counted 8 days ago: history
  for (int back = 1; back <= 7; ++back) w.count(kDaytime - back * 86400, 6);  // 6 an hour: 1 a window
  w.count(kDaytime, 2);
  w.check();
  CHECK_FALSE(w.tally().volume_surge);  // 2 = 2 x 1
  w.count(kDaytime, 1);
  w.check();
  CHECK(w.tally().volume_surge);
  CHECK(w.tally().volume_surges == 1);
  w.world.ctx->frozen_clock = kDaytime + 11 * 60;  // 11 minutes on: the window holds none of them
  w.check();
  CHECK_FALSE(w.tally().volume_surge);
  CHECK(w.tally().volume_surges == 1);
}

TEST_CASE("volume watch: an account is read at most once every kCheckMs") {
  Watched w("{ daily_max: 3 }");
  w.count(kDaytime, 3);
  w.watch.on_tick(1000);  // the first tick reads it
  w.world.settle();
  w.count(kDaytime, 1);
  w.watch.on_tick(1000 + proxy::VolumeWatch::kCheckMs - 1);
  w.world.settle();
  CHECK_FALSE(w.tally().volume_over_daily_max);  // not read again yet
  w.watch.on_tick(1000 + proxy::VolumeWatch::kCheckMs);
  w.world.settle();
  CHECK(w.tally().volume_over_daily_max);
}

TEST_CASE("flag ledger: each message a rule flagged counts once; its examples are masked and distinct, at most 5, written once per tick") {
  World world(config_with_volume("{}"));
  proxy::FlagLedger ledger(*world.store, world.counters());
  policy::Verdict v;
  v.outcome = policy::Outcome::flag;
  v.rule = policy::Rule::otp_no_reason;
  v.flagged = 1u << unsigned(policy::Rule::otp_no_reason);
  for (int i = 0; i < 8; ++i) ledger.count("acme", kDaytime, v, "Your code is " + std::string(size_t(i % 7 + 1), '7'));
  ledger.count("acme", kDaytime, policy::Verdict{}, "Your code is 1234");  // flagged by nothing: not counted
  CHECK(world.store->flags.empty());  // nothing before the tick
  ledger.flush();
  world.settle();
  REQUIRE(world.store->flags.size() == 1);
  const auto& f = world.store->flags[0];
  CHECK(f.account == "acme");
  CHECK(f.day == policy::saudi_time(kDaytime).day);
  CHECK(f.rule == "otp.no_reason");
  CHECK(f.count == 8);
  CHECK(f.examples == std::vector<std::string>{"Your code is #", "Your code is ##", "Your code is ###", "Your code is ####",
                                               "Your code is #####"});
  ledger.flush();
  world.settle();
  CHECK(world.store->flags.size() == 1);  // written once
}
