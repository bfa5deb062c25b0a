// Builds the stages, wires them together, and runs what belongs to none of them: the customer
// port, the tick, SIGHUP reloads, the NOC's snapshot, and the steps of a graceful shutdown.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/context.h"
#include "proxy/customer/account.h"
#include "proxy/customer/customers.h"
#include "proxy/deliver/deliveries.h"
#include "proxy/deliver/receipt_map.h"
#include "proxy/review/review_stage.h"
#include "proxy/state/store.h"
#include "proxy/submit/submits.h"
#include "proxy/submit/volume_watch.h"
#include "proxy/upstream/upstreams.h"

namespace proxy {

class Hub {
 public:
  Hub(uv_loop_t* loop, Config config, uint32_t instance, std::string version);
  ~Hub();

  // Binds the customer port and starts the operator links; returns a libuv error code.
  int start();
  uint16_t smpp_port() const { return smpp_port_; }
  uint16_t smpps_port() const { return smpps_port_; }  // 0: no TLS port
  // SIGTERM: not ready for limits.drain_grace_ms, then customers unbound with everything in
  // flight answered, then the operator links; `stopped` runs at the end, and the loop then ends.
  void shutdown(std::function<void()> stopped = {});
  bool leaving() const { return shutdown_step_ != ShutdownStep::running; }  // /readyz: 503 from SIGTERM on
  // SIGHUP: load the files again; apply the policy and accounts if they are valid, keep the old
  // ones if not; report settings that need a restart. Returns false when the files had errors.
  bool reload(std::vector<std::string>* errors = nullptr);  // errors: each as file:line:column: message
  void reopen_audit_log();
  // Tests and `explain` decide at chosen instants: the wall clock the rules see is frozen there.
  void freeze_clock_at(int64_t unix_seconds) { ctx_.frozen_clock = unix_seconds; }

  const Config& config() const { return ctx_.config; }
  Stats& stats() { return ctx_.stats; }
  Counters& counters() { return ctx_.counters(); }
  Snapshot snapshot() const;

  // The admin API (proxy/admin/) steers the stages through their own small methods, and writes
  // what it did to the audit log at once (not at the next tick: an action is rare and must stay).
  Customers& customers() { return customers_; }
  Holds& holds() { return holds_; }
  Upstreams& upstreams() { return upstreams_; }
  // Accounts in a volume alarm (surging(), on_surge()), for the stage that holds the rest.
  const VolumeWatch& volume() const { return volume_; }
  void audit_event(std::string_view kind, const nlohmann::ordered_json& fields);
  int64_t wall_ms() const { return ctx_.wall_ms(); }
  std::string policy_version() const { return ctx_.policy->version(); }
  uint64_t now_ms() const { return ctx_.now_ms(); }

 private:
  int start_tls_listener();
  void reload_tls(const Config& fresh);
  void on_tick();
  void wire_review();
  void end_of_turn();
  void shutdown_step(uint64_t now);
  void unbind_customers(uint64_t now);
  void unbind_links(uint64_t now);
  void close_unanswered(bool hard);
  void finish_shutdown();

  Context ctx_;
  std::unique_ptr<StateStore> store_;
  ReceiptMap receipts_;
  Accounts accounts_;
  Upstreams upstreams_;
  Customers customers_;
  ReviewStage review_;
  Holds holds_;
  Submits submits_;
  Deliveries deliveries_;
  VolumeWatch volume_;
  std::string version_;
  uint64_t started_ms_;
  uv_tcp_t listener_{};
  uv_tcp_t tls_listener_{};  // listen.smpps, when set
  uv_timer_t tick_{};
  uv_check_t end_of_turn_{};  // after each loop turn's I/O: its receipt mappings in one batch, the store's backlog
  uint16_t smpp_port_ = 0;
  uint16_t smpps_port_ = 0;
  uint64_t ticks_ = 0;
  uint64_t shutdown_started_ms_ = 0;
  enum class ShutdownStep { running, not_ready, customers, links, closing, done } shutdown_step_ = ShutdownStep::running;
  uint64_t customers_told_ms_ = 0;
  uint64_t unbind_started_ms_ = 0;
  std::function<void()> stopped_;
  // The NOC's view: the last load of the files, and when the recent rates were last sampled.
  int64_t last_reload_unix_ms_ = 0;
  bool last_reload_ok_ = true;
  uint64_t last_reload_errors_ = 0;
  void sample_recent(uint64_t now);
  void describe_accounts(Snapshot& s) const;
};

}  // namespace proxy
