// The receipt id table loses no mapping while the store is down, comes back empty, or is full.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <map>
#include <set>

#include "proxy/deliver/receipt_map.h"
#include "proxy/state/store.h"
#include "proxy/stats/stats.h"

namespace {

using proxy::ReceiptMap;
using Outcome = ReceiptMap::Outcome;
constexpr int64_t kExpires = 2000000000;

// A state store that keeps receipt mappings in a map and can be taken down or emptied; the
// other calls are not this stage's business.
class FakeStore final : public proxy::StateStore {
 public:
  bool is_up = true;
  std::map<std::string, std::string> mappings;
  int writes = 0;

  void remember_receipt(std::string_view upstream, std::string_view id, std::string_view value, int64_t, Done done) override {
    ++writes;
    if (is_up) mappings[std::string(upstream) + "/" + std::string(id)] = std::string(value);
    done(is_up);
  }
  int batches = 0;
  std::vector<Done> held;  // with hold_answers, the batches' answers wait here
  bool hold_answers = false;
  void remember_receipts(const std::vector<ReceiptMapping>& mappings, Done done) override {
    ++batches;
    if (!hold_answers) return StateStore::remember_receipts(mappings, std::move(done));
    for (const auto& m : mappings) mappings_seen.push_back(std::string(m.operator_id));
    held.push_back(std::move(done));
  }
  std::vector<std::string> mappings_seen;
  void find_receipt(std::string_view upstream, std::string_view id, Found done) override {
    if (!is_up) return done(false, std::nullopt);
    auto it = mappings.find(std::string(upstream) + "/" + std::string(id));
    done(true, it == mappings.end() ? std::nullopt : std::optional(it->second));
  }
  void forget_receipt(std::string_view upstream, std::string_view id) override {
    mappings.erase(std::string(upstream) + "/" + std::string(id));
  }
  void sweep_receipts() override {}
  void on_back(std::function<void(bool)>) override {}
  void keep_delivery(std::string_view, std::string_view, std::string_view, int, int, Done) override {}
  void kept_deliveries(std::string_view, int, Listed) override {}
  void forget_delivery(std::string_view, std::string_view) override {}
  void ported_version(Found) override {}
  void ported_numbers(Listed) override {}
  void reserve(const Reservation&, Checked) override {}
  void release(const Reservation&) override {}
  void count_usage(std::string_view, int64_t, std::string_view, int, int, std::string_view, uint64_t, Done) override {}
  void volume_figures(std::string_view, int64_t, int, std::function<void(bool, VolumeFigures)>) override {}
  void count_flags(std::string_view, int64_t, std::string_view, int, const std::vector<std::string>&, Done) override {}
  void set_opted_out(std::string_view, std::string_view, bool, Done) override {}
  void hold_part(std::string_view, std::string_view, std::string_view, std::string_view, int, std::string_view, Done) override {}
  void renew_claim(std::string_view, std::string_view, std::string_view) override {}
  void forget_held(std::string_view, std::string_view) override {}
  void held_parts(std::string_view, std::string_view, std::function<void(bool, std::vector<HeldPart>)>) override {}
  bool up() const override { return is_up; }
  std::string describe() const override { return "fake"; }
  void close() override {}
};

struct World {
  FakeStore store;
  proxy::Counters counters;
  ReceiptMap map;
  explicit World(ReceiptMap::Limits limits = {1000, 60000, 600000}) : map(store, counters, limits) {}

  // As the hub does: a mapping made during a loop turn is written at the end of the turn.
  void remember(const std::string& id, const std::string& our_id, uint64_t now_ms) {
    map.remember("stc", id, "acme", our_id, kExpires, now_ms);
    map.flush();
  }

  ReceiptMap::Found find(const std::string& id, uint64_t now_ms) {
    ReceiptMap::Found result;
    bool answered = false;
    map.find("stc", id, now_ms, [&](ReceiptMap::Found f) {
      result = std::move(f);
      answered = true;
    });
    REQUIRE(answered);  // the fake answers at once
    return result;
  }
};

}  // namespace

TEST_CASE("a mapping is found with its account and our id, from the process or the store") {
  World w;
  w.remember("7010000001", "00000a0000000001", 0);
  CHECK(w.store.mappings.at("stc/7010000001") == "acme\t00000a0000000001");
  auto f = w.find("7010000001", 10);
  CHECK(f.outcome == Outcome::mapped);
  CHECK(f.account == "acme");
  CHECK(f.our_id == "00000a0000000001");

  w.map.on_tick(60000);  // past the hold: only the store has it now
  CHECK(w.map.held() == 0);
  CHECK(w.find("7010000001", 60001).outcome == Outcome::mapped);
}

TEST_CASE("while the store is down a mapping is kept in the process, found there, and written once it is back") {
  World w;
  w.store.is_up = false;
  w.remember("7010000002", "00000a0000000002", 0);
  CHECK(w.map.unconfirmed() == 1);
  w.map.on_tick(120000);  // long past the hold: unconfirmed, so it stays
  CHECK(w.map.held() == 1);
  CHECK(w.find("7010000002", 120000).outcome == Outcome::mapped);

  w.store.is_up = true;
  w.map.on_tick(120250);
  CHECK(w.map.unconfirmed() == 0);
  CHECK(w.store.mappings.count("stc/7010000002") == 1);
  w.map.on_tick(120500);
  CHECK(w.map.held() == 0);  // confirmed and old: the store has it
}

TEST_CASE("a store that comes back without its data is given the recent mappings again") {
  World w;
  w.remember("7010000003", "00000a0000000003", 0);
  w.store.mappings.clear();  // Redis restarted with no persistence
  w.map.store_back(true);
  w.map.on_tick(1000);
  CHECK(w.store.mappings.at("stc/7010000003") == "acme\t00000a0000000003");
}

TEST_CASE("a store that comes back with its data is not written again") {
  World w;
  w.remember("7010000004", "00000a0000000004", 0);
  int writes = w.store.writes;
  w.map.store_back(false);
  w.map.on_tick(1000);
  CHECK(w.store.writes == writes);
}

TEST_CASE("a receipt nobody knows is refused for retry until unknown_receipt_retry_s, then dropped") {
  World w(ReceiptMap::Limits{1000, 60000, 600000});
  CHECK(w.find("999", 0).outcome == Outcome::retry);
  CHECK(w.find("999", 599999).outcome == Outcome::retry);
  CHECK(w.counters.receipts_unknown_retried == 2);
  CHECK(w.find("999", 600000).outcome == Outcome::drop);
  CHECK(w.find("999", 600001).outcome == Outcome::retry);  // a new id's clock starts again
}

TEST_CASE("a receipt whose mapping arrives during the retries is relayed") {
  World w;
  CHECK(w.find("7010000005", 0).outcome == Outcome::retry);
  w.remember("7010000005", "00000a0000000005", 100);
  CHECK(w.find("7010000005", 200).outcome == Outcome::mapped);
}

TEST_CASE("the store is down and the mapping is not held here: a temporary error, not a drop") {
  World w;
  w.store.is_up = false;
  CHECK(w.find("7010000006", 0).outcome == Outcome::store_down);
}

TEST_CASE("once the final receipt was handed on, the mapping leaves the store and a repeat is a duplicate") {
  World w;
  w.remember("7010000007", "00000a0000000007", 0);
  w.map.delivered("stc", "7010000007");
  CHECK(w.store.mappings.count("stc/7010000007") == 0);
  CHECK(w.find("7010000007", 10).outcome == Outcome::delivered);
}

TEST_CASE("the table is bounded: confirmed entries make room silently, an unconfirmed one dropped is counted") {
  World w(ReceiptMap::Limits{2, 60000, 600000});
  for (int i = 0; i < 3; ++i) w.remember(std::to_string(i), "id", uint64_t(i));
  CHECK(w.map.held() == 2);
  CHECK(w.counters.receipt_mappings_dropped == 0);
  CHECK(w.find("0", 10).outcome == Outcome::mapped);  // from the store

  w.store.is_up = false;
  for (int i = 3; i < 6; ++i) w.remember(std::to_string(i), "id", uint64_t(i));
  CHECK(w.map.held() == 2);
  CHECK(w.counters.receipt_mappings_dropped == 1);  // 3 was unconfirmed and made room for 5
}

TEST_CASE("the mappings made in one loop turn reach the store in one batch") {
  World w;
  for (int i = 0; i < 50; ++i) w.map.remember("stc", std::to_string(i), "acme", "id", kExpires, 0);
  CHECK(w.store.batches == 0);  // nothing before the turn ends
  w.map.flush();
  CHECK(w.store.batches == 1);
  CHECK(w.store.writes == 50);
  CHECK(w.map.unconfirmed() == 0);
  w.map.flush();
  CHECK(w.store.batches == 1);  // nothing new: no empty batch
}

TEST_CASE("a full table keeps a mapping whose write is on its way until the store answers") {
  World w(ReceiptMap::Limits{2, 60000, 600000});
  w.store.hold_answers = true;
  for (int i = 0; i < 4; ++i) w.map.remember("stc", std::to_string(i), "acme", "id", kExpires, uint64_t(i));
  w.map.flush();
  CHECK(w.map.held() == 4);  // over the bound by what is in flight, nothing dropped
  CHECK(w.counters.receipt_mappings_dropped == 0);
  REQUIRE(w.store.held.size() == 1);
  w.store.held[0](true);
  w.map.remember("stc", "4", "acme", "id", kExpires, 4);
  CHECK(w.map.held() == 2);  // confirmed now: the oldest made room
  CHECK(w.counters.receipt_mappings_dropped == 0);
  CHECK(w.find("4", 5).outcome == Outcome::mapped);
}

TEST_CASE("a full table keeps exactly the newest mappings, each findable, through many evictions and reused ids") {
  World w(ReceiptMap::Limits{1000, 600000, 600000});
  // Ids that collide often in a small index, with some sent twice (the newest mapping wins).
  auto id_of = [](int n) { return std::to_string(7000000000LL + (n * 7919) % 20000); };
  std::map<std::string, std::string> newest;
  std::vector<std::string> order;
  for (int n = 0; n < 30000; ++n) {
    std::string id = id_of(n), ours = fmt::format("{:016x}", n);
    w.remember(id, ours, uint64_t(n));
    newest[id] = ours;
    order.push_back(id);
  }
  CHECK(w.map.held() == 1000);
  w.store.is_up = false;  // what is found now comes from the process
  std::set<std::string> held;
  for (auto it = order.rbegin(); it != order.rend() && held.size() < 1000; ++it) held.insert(*it);
  for (const auto& id : held) {
    auto f = w.find(id, 30000);
    REQUIRE(f.outcome == Outcome::mapped);
    CHECK(f.our_id == newest[id]);
  }
  int evicted_found = 0;
  for (const auto& [id, ours] : newest)
    if (!held.count(id)) evicted_found += w.find(id, 30000).outcome != Outcome::store_down;
  CHECK(evicted_found == 0);
}

TEST_CASE("after a burst the held mappings leave over a few ticks, 20,000 a tick, not in one long stall") {
  World w(ReceiptMap::Limits{100000, 10000, 600000});
  for (int n = 0; n < 50000; ++n) w.map.remember("stc", std::to_string(7000000000LL + n), "acme", "00000a0000000001", kExpires, 0);
  w.map.flush();
  REQUIRE(w.map.held() == 50000);
  w.map.on_tick(10000);  // every one of them is past the hold now
  CHECK(w.map.held() == 30000);
  w.map.on_tick(10250);
  CHECK(w.map.held() == 10000);
  w.map.on_tick(10500);
  CHECK(w.map.held() == 0);
}
