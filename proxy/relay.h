// Wires customers, policy, routing, operators and the state store together on one libuv loop.
#pragma once

#include <uv.h>

#include <deque>
#include <tuple>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "proxy/audit_log.h"
#include "proxy/bind_guard.h"
#include "proxy/config.h"
#include "proxy/flow.h"
#include "proxy/message_id.h"
#include "proxy/passwords.h"
#include "proxy/state_store.h"
#include "proxy/stats.h"
#include "smpp/pdu.h"
#include "smpp/text.h"

namespace proxy {

class CustomerSession;
class Relay;
class UpstreamSession;

struct Account {
  std::string name;
  std::shared_ptr<const AccountConfig> config;  // replaced on reload; nullptr once removed from the config
  int binds = 0;  // bound or binding right now, against max_binds
  int held_messages = 0;  // long messages waiting for parts, against limits.long_messages_max
  size_t held_bytes = 0;  // their parts' bytes, against limits.long_message_bytes_max
  std::vector<CustomerSession*> receivers;
  size_t next_receiver = 0;
  std::unordered_set<std::string> kept_in_flight;  // kept deliveries being sent right now
};

// The configured links to one operator, and the submits waiting for room on them.
struct UpstreamPool {
  struct Link {
    Relay* relay = nullptr;
    int upstream = 0, slot = 0;
    UpstreamSession* session = nullptr;
    uv_timer_t reconnect{};
    int failures = 0;
  };
  const UpstreamConfig* config = nullptr;
  std::vector<std::unique_ptr<Link>> links;
  std::deque<std::unique_ptr<Submit>> waiting;  // bounded by the customers' windows
  size_t next_link = 0;
};

class Relay {
 public:
  Relay(uv_loop_t* loop, Config config, uint32_t instance, std::string version);
  ~Relay();

  // Binds the customer port and starts the operator links; returns a libuv error code.
  int start();
  uint16_t smpp_port() const { return smpp_port_; }
  // SIGTERM: answer everything in flight, unbind, close; the loop then ends.
  void shutdown();
  // SIGHUP: load the files again; apply the policy and accounts if they are valid, keep the old
  // ones if not; report settings that need a restart. Returns false when the files had errors.
  bool reload();
  void reopen_audit_log();
  // Tests and `explain` decide at chosen instants: the wall clock the rules see is frozen there.
  void freeze_clock_at(int64_t unix_seconds) { frozen_clock_ = unix_seconds; }

  const Config& config() const { return config_; }
  Stats& stats() { return stats_; }
  Counters& counters() { return stats_.counters; }
  Snapshot snapshot() const;
  uint64_t now_ms() const { return uv_now(loop_); }  // monotonic, for timeouts
  int64_t wall_ms() const;                            // the rules' clock

  // From customer sessions.
  void authorize(CustomerSession& session, const smpp::Bind& bind, uint32_t sequence);
  void submit(CustomerSession& session, uint32_t sequence, std::string_view pdu, const smpp::ShortMessage& sm);
  void delivery_acknowledged(std::unique_ptr<Delivery> delivery, uint32_t status);
  void delivery_undelivered(std::unique_ptr<Delivery> delivery);
  void customer_closed(CustomerSession& session);

  // From operator links.
  void link_bound(UpstreamSession& link);
  void submit_answered(std::unique_ptr<Submit> submit, uint32_t status, std::string_view operator_id);
  void operator_delivered(UpstreamSession& link, uint32_t sequence, smpp::ShortMessage sm);
  void link_closed(UpstreamSession& link, bool was_bound);

 private:
  void accept_customer();
  void route(std::unique_ptr<Submit> submit);
  void state_checked(std::unique_ptr<Submit> submit, bool ok, policy::Rule failed);
  // Long messages (long_messages.cc).
  void submit_part(CustomerSession& session, uint32_t sequence, std::string_view pdu, const smpp::ShortMessage& sm,
                   std::string destination, smpp::Concatenation part);
  void complete_if_whole(const std::string& held_key);
  void decide_held(const std::string& held_key);
  void forward_held(const std::string& held_key, const policy::Verdict& verdict, bool charged);
  void fail_held(const std::string& held_key, uint32_t status, std::string_view stat, uint8_t state);
  void forget_held(const std::string& held_key);
  void expire_held(uint64_t now_ms);
  void restore_held();
  void renew_held_claims();
  void failure_receipt(const std::string& account, std::string_view id, std::string_view customer_source,
                       std::string_view destination, uint32_t status, std::string_view stat, uint8_t state);
  void see_opt_out_word(const std::string& account, const smpp::ShortMessage& mo);
  void send_confirmation(const std::string& account, const std::string& number, policy::OptOutWord word);
  void audit_refusal(const CustomerSession& session, const smpp::ShortMessage& sm, std::string_view recipient,
                     const policy::Verdict& v, std::string_view rule, uint32_t status = 0);
  void audit_answer(const Submit& submit, uint32_t status, std::string_view operator_id);
  void refresh_ported_numbers();
  void flush_usage();
  void dispatch(UpstreamPool& pool, std::unique_ptr<Submit> submit);
  void drain(UpstreamPool& pool);
  void answer(Submit& submit, uint32_t status);
  void refuse(CustomerSession& session, uint32_t sequence, uint32_t status);
  void relay_receipt(UpstreamSession& link, uint32_t sequence, smpp::ShortMessage sm);
  void relay_mo(UpstreamSession& link, uint32_t sequence, smpp::ShortMessage sm);
  void route_delivery(std::unique_ptr<Delivery> delivery);
  void keep(std::unique_ptr<Delivery> delivery);
  void acknowledge_operator(const Delivery& delivery, uint32_t status);
  void send_kept_deliveries(CustomerSession& session);
  void receiver_bound(CustomerSession& session);
  void start_link(int upstream, int slot);
  void schedule_reconnect(int upstream, int slot);
  void on_tick();
  void fail_all_waiting(UpstreamPool& pool, uint32_t status);
  bool finished_draining() const;
  void close_links();
  void close_customers();

  uv_loop_t* loop_;
  Config config_;
  Stats stats_;
  std::unique_ptr<StateStore> store_;
  MessageIdAllocator ids_;
  BindGuard bind_guard_;
  BindVerifier verifier_;
  std::string version_;
  uint64_t started_ms_;
  uint64_t shutdown_started_ms_ = 0;
  uv_tcp_t listener_{};
  uv_timer_t tick_{};
  uint16_t smpp_port_ = 0;
  bool shutting_down_ = false;
  uint64_t next_session_id_ = 1;
  std::map<std::string, Account> accounts_;
  std::deque<UpstreamPool> pools_;  // a deque: pools hold move-only members and never relocate
  std::unordered_map<uint64_t, std::unique_ptr<CustomerSession>> customers_;
  std::unordered_map<uint64_t, std::unique_ptr<UpstreamSession>> links_;
  std::unordered_map<std::string, std::string> ported_;  // number -> operator, from the state store
  std::shared_ptr<const policy::Table> policy_;
  AuditLog audit_;
  std::optional<int64_t> frozen_clock_;
  std::string text_;  // the decoded text of the submit being decided (reused)
  std::unordered_map<std::string, HeldMessage> held_;  // long messages by account + key
  bool held_restored_ = false;
  std::string owner_;  // this instance, as the holder of long messages' parts in the store
  // Usage not yet written to the store: (account, Saudi day, class) -> (messages, parts).
  std::map<std::tuple<std::string, int64_t, policy::MessageClass>, std::pair<int, int>> usage_;
  std::optional<std::string> ported_version_;
  bool ported_loading_ = false;
  uint64_t ticks_ = 0;

  friend class CustomerSession;
  friend class UpstreamSession;
};

}  // namespace proxy
