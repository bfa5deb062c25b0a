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

#include "proxy/submit/audit_log.h"
#include "proxy/customer/bind_guard.h"
#include "proxy/config/config.h"
#include "proxy/flow.h"
#include "proxy/submit/message_id.h"
#include "proxy/customer/passwords.h"
#include "proxy/deliver/receipt_map.h"
#include "proxy/state/store.h"
#include "proxy/stats/stats.h"
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
  std::unordered_set<std::string> kept_in_flight;  // deliveries at a customer right now, by key
  // Kept deliveries are fetched for the bound receivers with room: again as soon as they take
  // some (kept_more), every few seconds otherwise (another instance may have kept some).
  uint64_t next_kept_fetch_ms = 0;
  bool kept_fetching = false;
  bool kept_more = false;
  // Deliveries acknowledged while a fetch is on its way: its answer may predate their removal
  // from the store, and must not send them again.
  std::unordered_set<std::string> handed_on_while_fetching;
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
  bool shutting_down() const { return shutting_down_; }
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
  // Not acknowledged: the session closed, or the customer let response_timeout_ms pass.
  void delivery_undelivered(std::unique_ptr<Delivery> delivery, bool timed_out = false);
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
  void pick_up_parts(std::vector<StateStore::HeldPart> parts);
  void renew_held_claims();
  void failure_receipt(const std::string& account, std::string_view id, std::string_view customer_source,
                       std::string_view destination, uint32_t status, std::string_view stat, uint8_t state);
  void see_opt_out_word(const std::string& account, const smpp::ShortMessage& mo);
  void send_confirmation(const std::string& account, const std::string& number, policy::OptOutWord word);
  void audit_refusal(const CustomerSession& session, const smpp::ShortMessage& sm, std::string_view recipient,
                     const policy::Verdict& v, std::string_view rule, uint32_t status = 0);
  void audit_answer(const Submit& submit, uint32_t status, std::string_view operator_id);
  void refresh_ported_numbers();
  void flush_usage(bool last = false);
  void dispatch(UpstreamPool& pool, std::unique_ptr<Submit> submit);
  void drain(UpstreamPool& pool);
  void answer(Submit& submit, uint32_t status);
  void refuse(CustomerSession& session, uint32_t sequence, uint32_t status);
  void relay_receipt(UpstreamSession& link, uint32_t sequence, smpp::ShortMessage sm);
  void relay_mo(UpstreamSession& link, uint32_t sequence, smpp::ShortMessage sm);
  void route_delivery(std::unique_ptr<Delivery> delivery);
  void delivery_kept(const std::string& account, const std::string& key, bool ok);
  void answer_operator(const std::string& key, uint32_t status);
  void delivery_handed_on(const Delivery& delivery);
  CustomerSession* receiver_with_room(Account& account);
  void fetch_kept_deliveries(Account& account, uint64_t now);
  void receiver_bound(CustomerSession& session);
  void password_checked(uint64_t session_id, const std::string& address, const std::string& account, uint32_t sequence, bool ok);
  void accept_bind(CustomerSession& session, Account& account, uint32_t sequence);
  void refuse_bind(CustomerSession& session, std::string_view system_id, uint64_t& reason, uint32_t status,
                   std::string_view why, uint32_t sequence);
  void start_link(int upstream, int slot);
  void schedule_reconnect(int upstream, int slot);
  void on_tick();
  void fail_all_waiting(UpstreamPool& pool, uint32_t status);
  bool admit(CustomerSession& session);
  bool finished_draining() const;
  void shutdown_step(uint64_t now);
  void unbind_everyone(uint64_t now);
  void close_unanswered(bool hard);
  void finish_shutdown();

  uv_loop_t* loop_;
  Config config_;
  Stats stats_;
  std::unique_ptr<StateStore> store_;
  ReceiptMap receipts_;
  MessageIdAllocator ids_;
  BindGuard address_guard_;  // failed binds per remote address
  BindGuard account_guard_;  // failed binds per account, from any address
  BindVerifier verifier_;
  std::string version_;
  uint64_t started_ms_;
  uint64_t shutdown_started_ms_ = 0;
  enum class ShutdownStep { draining, unbinding, closing, done } shutdown_step_ = ShutdownStep::draining;
  uint64_t unbind_started_ms_ = 0;
  std::unordered_map<std::string, int> connections_per_address_;  // open customer connections by IP
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
  // Start-up pick-up of held parts, one account at a time, backing off when the store fails.
  struct Restore {
    bool started = false, done = false, busy = false;
    std::vector<std::string> accounts;  // still to read
    uint64_t next_ms = 0, backoff_ms = 0;
  } restore_;
  // Deliveries whose operator waits for our deliver_sm_resp, by delivery key: answered once the
  // store kept it or the customer acknowledged it, whichever comes first.
  struct OperatorWait {
    uint64_t link = 0;
    uint32_t sequence = 0;
    bool keep_failed = false;
  };
  std::unordered_map<std::string, OperatorWait> operator_waits_;
  std::string owner_;  // this instance, as the holder of long messages' parts in the store
  // Usage not yet written to the store: (account, Saudi day, class) -> (messages, parts).
  std::map<std::tuple<std::string, int64_t, policy::MessageClass>, std::pair<int, int>> usage_;
  // Usage sent and not yet confirmed, by batch number: kept, and sent again under the same
  // number (the store counts a number once), until the store confirms it.
  struct UsageBatch {
    std::string account;
    int64_t day = 0;
    policy::MessageClass message_class{};
    int messages = 0, parts = 0;
    bool sending = false;
  };
  std::map<uint64_t, UsageBatch> usage_unconfirmed_;
  uint64_t usage_batches_ = 0;
  void send_usage(uint64_t batch);
  std::optional<std::string> ported_version_;
  bool ported_loading_ = false;
  uint64_t ticks_ = 0;

  friend class CustomerSession;
  friend class UpstreamSession;
};

}  // namespace proxy
