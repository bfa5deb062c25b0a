// The in-process state store keeps the stateful rules for one instance, like the Redis script.
#include <catch2/catch.hpp>

#include <uv.h>

#include "proxy/state/store.h"
#include "proxy/stats/stats.h"

namespace {

struct Loop {
  uv_loop_t loop;
  std::unique_ptr<proxy::StateStore> store;
  Loop() {
    uv_loop_init(&loop);
    store = proxy::make_memory_store(&loop);
  }
  ~Loop() {
    store->close();
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  // Reserves and runs the loop until the answer comes (never inline, by contract).
  policy::Rule reserve(const proxy::StateReservation& r) {
    policy::Rule result = policy::Rule::count;
    bool answered = false;
    store->reserve(r, [&](bool ok, policy::Rule failed) {
      REQUIRE(ok);
      result = failed;
      answered = true;
    });
    CHECK_FALSE(answered);
    while (!answered) uv_run(&loop, UV_RUN_ONCE);
    return result;
  }
};

proxy::StateReservation awareness_to(const std::string& number, int64_t day) {
  proxy::StateReservation r;
  r.account = "acme";
  r.sender = "ACME-INFO";
  r.number = number;
  r.number_hash = "h" + number;
  r.saudi_day = day;
  r.needs.awareness = true;
  r.needs.awareness_cap = 1;
  return r;
}

}  // namespace

TEST_CASE("the second awareness message of the day to a number is refused; the next day it passes") {
  Loop l;
  auto first = awareness_to("966501234567", 20000);
  CHECK(l.reserve(first) == policy::Rule::none);
  CHECK(l.reserve(first) == policy::Rule::awareness_daily_cap);
  CHECK(l.reserve(awareness_to("966501234568", 20000)) == policy::Rule::none);  // another number
  CHECK(l.reserve(awareness_to("966501234567", 20001)) == policy::Rule::none);  // the next Saudi day
}

TEST_CASE("a message that was not relayed gives its awareness allowance back") {
  Loop l;
  auto r = awareness_to("966501234567", 20000);
  CHECK(l.reserve(r) == policy::Rule::none);
  l.store->release(r);
  CHECK(l.reserve(r) == policy::Rule::none);
}

TEST_CASE("a prepaid account is charged per part and refused when the balance does not cover them") {
  Loop l;
  proxy::StateReservation r;
  r.account = "acme";
  r.parts = 3;
  r.needs.charge = true;
  CHECK(l.reserve(r) == policy::Rule::account_balance);  // no balance at all
  l.store->release(r);                                   // a refund of 3 units: now 3
  CHECK(l.reserve(r) == policy::Rule::none);
  CHECK(l.reserve(r) == policy::Rule::account_balance);  // spent
}

TEST_CASE("promotional messages to an opted-out number are refused, until it opts in again") {
  Loop l;
  proxy::StateReservation r;
  r.account = "acme";
  r.number = "966501234567";
  r.needs.opt_out = true;
  CHECK(l.reserve(r) == policy::Rule::none);
  l.store->set_opted_out("acme", r.number, true, [](bool) {});
  CHECK(l.reserve(r) == policy::Rule::recipient_opted_out);
  l.store->set_opted_out("acme", r.number, false, [](bool) {});
  CHECK(l.reserve(r) == policy::Rule::none);
}

TEST_CASE("throughput: a burst within the limit passes, beyond it is refused") {
  Loop l;
  proxy::StateReservation r;
  r.account = "acme";
  r.needs.throughput = true;
  r.needs.rate = 2;
  CHECK(l.reserve(r) == policy::Rule::none);
  CHECK(l.reserve(r) == policy::Rule::none);
  CHECK(l.reserve(r) == policy::Rule::account_throughput);
}

TEST_CASE("a refused reservation takes nothing: throttled messages keep the awareness allowance") {
  Loop l;
  auto r = awareness_to("966501234567", 20000);
  r.needs.charge = true;  // no balance: refused
  CHECK(l.reserve(r) == policy::Rule::account_balance);
  r.needs.charge = false;
  CHECK(l.reserve(r) == policy::Rule::none);
}
