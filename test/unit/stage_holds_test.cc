// proxy/hold/holds: due messages leave at the account's pace (half its throughput a second), less those still in flight.
#include "proxy/hold/holds.h"

#include "stage_fakes.h"

using stage_fakes::kDaytime;
using stage_fakes::kPasswordHash;
using stage_fakes::World;

namespace {

std::string config_yaml() {
  return std::string(R"(listen: { smpp: "127.0.0.1:0", stats: "127.0.0.1:0" }
state: memory
policy: { mode: off }
upstreams:
  stc: { host: 127.0.0.1, port: 2776, system_id: hajib, password: pw }
routes:
  prefixes: { "96650": stc }
accounts:
  shop: { password_hash: ")") + kPasswordHash + R"(", allow_ips: [ "127.0.0.1/32" ], entity: private,
          throughput: 10, senders: { SHOP: service } }
)";
}

// Relays nothing: records what the release handed on, until the test settles it.
struct RecordingRelay final : proxy::HeldRelay {
  std::vector<std::string> relayed;
  void relay_held(const proxy::HeldRecord& r, const policy::Verdict&, bool) override { relayed.push_back(r.id); }
  void held_failure_receipts(const proxy::HeldRecord&, uint32_t, std::string_view, uint8_t) override {}
};

struct Pacing {
  World w{config_yaml()};
  proxy::Holds holds{*w.ctx, w.accounts};
  RecordingRelay relay;
  uint64_t now_ms = 1000000;

  Pacing() { holds.wire(&relay); }
  void hold_due(int n) {
    for (int i = 0; i < n; ++i) {
      proxy::HeldRecord r;
      r.account = "shop";
      r.id = fmt::format("{:016x}", i + 1);
      r.reason = "quiet";
      r.release_at = kDaytime - 60;  // due already
      r.source = "SHOP";
      r.destination = "966501234567";
      r.parts.push_back({r.id, "pdu"});
      bool kept = false;
      holds.hold(std::move(r), [&](bool ok, bool held) { kept = ok && held; });
      REQUIRE(w.run_until([&] { return kept; }));
    }
  }
  void second_passes() {
    now_ms += 1000;
    holds.on_tick(now_ms, false);
    w.settle();
  }
};

}  // namespace

TEST_CASE("held messages leave at half the account's throughput a second, the rest left for live traffic") {
  CHECK(proxy::Holds::release_per_second(10) == 5);
  CHECK(proxy::Holds::release_per_second(1) == 1);
  CHECK(proxy::Holds::release_per_second(0) == 100);  // no throughput configured
  Pacing p;
  p.hold_due(12);
  p.second_passes();
  CHECK(p.relay.relayed.size() == 5);
  CHECK(p.w.store->due_limits.back() == 5);
}

TEST_CASE("a second later, only what the account's pace leaves after the messages still in flight is claimed") {
  Pacing p;
  p.hold_due(12);
  p.second_passes();
  REQUIRE(p.relay.relayed.size() == 5);
  p.second_passes();  // the five are still with the operator side: nothing more
  CHECK(p.relay.relayed.size() == 5);
  for (int i = 0; i < 2; ++i) p.holds.settled("shop", p.relay.relayed[size_t(i)], 0);  // two answered
  p.second_passes();
  CHECK(p.relay.relayed.size() == 7);  // 5 a second, and 3 still in flight
}
