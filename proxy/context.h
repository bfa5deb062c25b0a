// What every stage reads and none owns alone: the loop and its clocks, the configuration as last
// (re)loaded, the policy table in force, the counters, the state store, the audit log, our ids.
#pragma once

#include <fmt/format.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "policy/table.h"
#include "proxy/config/config.h"
#include "proxy/stats/stats.h"
#include "proxy/submit/audit_log.h"
#include "proxy/submit/message_id.h"

namespace proxy {

class StateStore;

// The hub owns it and every stage; stages keep a reference. Only the hub writes to it (reload,
// shutdown); stages read it when they need it, so that a reload is seen by all at once.
struct Context {
  uv_loop_t* loop = nullptr;
  Config config;
  Stats stats;
  StateStore* store = nullptr;
  AuditLog audit;
  MessageIdAllocator ids;
  std::shared_ptr<const policy::Table> policy;  // the table in force; messages in flight keep theirs
  std::optional<int64_t> frozen_clock;           // tests and `explain`: the rules' wall clock, frozen
  bool shutting_down = false;     // SIGTERM's last steps: operator links unbound, no new work
  bool customers_leaving = false; // SIGTERM: the customer ports closed, customers told to unbind
  bool store_behind = false;  // the state store has too much unanswered: customers are not read
  std::string owner;  // this instance, as the holder of long messages' parts in the state store
  uint64_t next_session_id = 1;  // customer sessions and operator links alike, for logs and lookups

  Context(uv_loop_t* l, Config c, uint32_t instance)
      : loop(l), config(std::move(c)), ids(instance), policy(config.policy), owner(fmt::format("{:05x}", instance)) {
    sync_wall_clock();
  }

  Counters& counters() { return stats.counters; }
  const Limits& limits() const { return config.limits; }
  uint64_t now_ms() const { return uv_now(loop); }  // monotonic, for timeouts
  // The rules' clock: the loop's time (read once per loop turn) plus the wall clock's offset from
  // it, taken again every tick, so that a message costs no clock read and a step of the system
  // clock (NTP) is followed within a tick.
  int64_t wall_ms() const {
    if (frozen_clock) return *frozen_clock * 1000;
    return int64_t(uv_now(loop)) + wall_offset_ms_;
  }
  void sync_wall_clock() {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    uv_update_time(loop);
    wall_offset_ms_ = now - int64_t(uv_now(loop));
  }

 private:
  int64_t wall_offset_ms_ = 0;
};

}  // namespace proxy
