// A customer's bind: auth, its submit window, receipts and MOs delivered to it.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

#include "proxy/flow.h"
#include "proxy/net/connection.h"
#include "smpp/pdu.h"
#include "smpp/pdu_view.h"
#include "smpp/session.h"

namespace proxy {

struct Account;
struct Limits;
class CustomerSession;

// Where a customer session's events go: binds to the customers stage, submits to the submit
// stage, acknowledged or returned deliveries to the deliver stage.
class BindDesk {
 public:
  virtual ~BindDesk() = default;
  virtual void authorize(CustomerSession& session, const smpp::Bind& bind, uint32_t sequence) = 0;
  // The customer's address is known (at accept, or from a balancer's PROXY header): counted
  // against the connection caps, and closed when over one.
  virtual void admit(CustomerSession& session) = 0;
  virtual void session_closed(CustomerSession& session) = 0;  // its last call: the desk destroys it
};
// Who sent a submit_sm: enough to decide it, and to answer it later (the session may be gone).
struct SubmitOrigin {
  uint64_t session = 0;
  Account* account = nullptr;
};
class SubmitIntake {
 public:
  virtual ~SubmitIntake() = default;
  // Answered exactly once, through SubmitReplies (customer/customers.h), with this sequence.
  // `sm` views `pdu`'s bytes, valid during the call only.
  virtual void submit(const SubmitOrigin& from, uint32_t sequence, std::string_view pdu, const smpp::ShortMessageView& sm) = 0;
};
class DeliveryReturns {
 public:
  virtual ~DeliveryReturns() = default;
  virtual void delivery_acknowledged(std::unique_ptr<Delivery> delivery, uint32_t status) = 0;
  // Not acknowledged: the session closed, or the customer let response_timeout_ms pass.
  virtual void delivery_undelivered(std::unique_ptr<Delivery> delivery, bool timed_out) = 0;
};
struct CustomerWiring {
  BindDesk* binds = nullptr;
  SubmitIntake* submits = nullptr;
  DeliveryReturns* deliveries = nullptr;
  const bool* shutting_down = nullptr;  // the proxy's: no new work is read once it is set
  const bool* store_behind = nullptr;   // the proxy's: no new work is read while it is set
};

// A customer session's own bounds, from limits in the configuration.
struct CustomerLimits {
  ConnectionLimits connection;
  int window = 1;  // unless the account sets its own
  uint64_t response_timeout_ms = 10000;
  uint64_t enquire_link_ms = 30000;
  uint64_t proxy_header_timeout_ms = 3000;
};
CustomerLimits customer_limits(const Limits& limits);

// A bound session that takes deliver_sm: what the deliver stage sees of it.
class Receiver {
 public:
  virtual ~Receiver() = default;
  // Deliveries it can take now (0 while it backs off or its window is full).
  virtual int delivery_room() const = 0;
  virtual void deliver(std::unique_ptr<Delivery> delivery) = 0;
  bool has_delivery_room() const { return delivery_room() > 0; }
};

class CustomerSession final : public Connection, public Receiver {
 public:
  enum class State { open, binding, bound, unbinding };

  CustomerSession(uv_loop_t* loop, uint64_t id, const CustomerLimits& limits, Counters& counters, CustomerWiring wiring);

  uint64_t id() const { return id_; }
  void resume_intake() { resume_reading(); }
  State state() const { return state_; }
  bool can_transmit() const { return state_ == State::bound && bind_kind_ != smpp::Command::bind_receiver; }
  bool can_receive() const { return state_ == State::bound && bind_kind_ != smpp::Command::bind_transmitter; }
  Account* account() const { return account_; }
  // The customer's address: the socket's, or the one a balancer's PROXY header named.
  const std::string& remote_address() const { return address_; }
  const sockaddr* remote_sockaddr() const { return reinterpret_cast<const sockaddr*>(&remote_); }
  void accepted();  // called once the TCP connection is accepted: the socket's address
  // Reading starts; from a balancer (listen.proxy_from) a PROXY header must come first and names
  // the customer, from anyone else one is refused.
  void start(bool from_balancer);
  bool awaiting_proxy_header() const { return from_balancer_ && !admitted_; }
  bool admitted() const { return admitted_; }  // counted against the caps of its address
  void set_admitted() { admitted_ = true; }

  // The stages' answers.
  void bind_decided(Account* account, uint32_t status, uint32_t sequence);
  void answer_submit(uint32_t sequence, uint32_t status, std::string_view message_id);
  void deliver(std::unique_ptr<Delivery> delivery) override;
  // Shutdown: unbind a bound session (its socket is read again for the unbind_resp; submits
  // read from now on get ESME_RSYSERR); close any other.
  void unbind(std::string_view why = "shutting down");
  int outstanding() const { return outstanding_; }  // submits received, not yet answered
  const char* bind_type() const;  // "transmitter", "receiver" or "transceiver"
  uint64_t bound_at_ms() const { return bound_at_ms_; }  // the loop's clock when the bind was accepted
  size_t deliveries_awaiting_ack() const { return awaiting_ack_.size(); }
  // Deliveries it can take now: a receiver holds at most its window, the rest stay kept; one
  // that let deliveries time out takes none until its back-off has passed.
  int delivery_room() const override;

 std::string describe() const override;

 protected:
  void on_pdu(std::string_view pdu) override;
  bool ready_for_pdu() const override;
  void on_stall() override;
  void on_tick(uint64_t now_ms) override;
  void on_closed() override;
  Preamble on_preamble(std::string_view bytes) override;

 private:
  void set_remote(const sockaddr_storage& address);
  void on_bind(const smpp::Header& h, std::string_view pdu);
  void on_submit(const smpp::Header& h, std::string_view pdu);
  void on_deliver_resp(const smpp::Header& h);
  void send_deliveries();
  void expire_deliveries(uint64_t now_ms);
  void refuse(const smpp::Header& h, uint32_t status);
  bool taken_before_bind(const smpp::Header& h);

  bool shutting_down() const { return *wiring_.shutting_down; }

  CustomerLimits limits_;
  CustomerWiring wiring_;
  smpp::Session link_;
  uint64_t id_;
  State state_ = State::open;
  smpp::Command bind_kind_ = smpp::Command::bind_transceiver;
  Account* account_ = nullptr;
  std::string address_;
  sockaddr_storage remote_{};
  bool from_balancer_ = false;
  bool admitted_ = false;
  int window_ = 1;
  int outstanding_ = 0;  // submits received and not yet answered
  int unbound_pdus_ = 0;  // PDUs received before the bind
  uint64_t opened_ms_ = 0;
  uint64_t bound_at_ms_ = 0;
  uint64_t unbind_sent_ms_ = 0;  // our unbind (shutdown or an admin's kick): closed if unanswered
  bool unbind_answered_ = false;  // closed once its submits in flight are answered
  std::deque<std::unique_ptr<Delivery>> to_deliver_;
  std::unordered_map<uint32_t, std::unique_ptr<Delivery>> awaiting_ack_;
  // A receiver that does not acknowledge is offered deliveries again less and less often: 1 s
  // after a round timed out, doubling to 60 s, back to none once it acknowledges one.
  uint64_t delivery_backoff_ms_ = 0;
  uint64_t deliveries_paused_until_ms_ = 0;
};

}  // namespace proxy
