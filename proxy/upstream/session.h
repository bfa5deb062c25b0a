// One bound link to an operator SMSC: our submits out, its receipts and MOs in.
#pragma once

#include <memory>
#include <memory_resource>
#include <unordered_map>

#include "proxy/config/config.h"
#include "proxy/flow.h"
#include "proxy/net/connection.h"
#include "smpp/pdu.h"
#include "smpp/protocol.h"
#include "smpp/session.h"

namespace proxy {

struct LinkTally;
class UpstreamSession;

// Where an operator link's events go: its state and its answers to the upstream stage, the
// receipts and MOs it brings to the deliver stage.
class LinkEvents {
 public:
  virtual ~LinkEvents() = default;
  virtual void link_bound(UpstreamSession& link) = 0;
  // Exactly once per submit sent on it: the operator's answer, or ESME_RSYSERR when it cannot come.
  virtual void submit_answered(SubmitPtr submit, uint32_t status, std::string_view operator_id) = 0;
  virtual void link_closed(UpstreamSession& link, bool was_bound) = 0;  // its last call: the owner destroys it
};
// Which link brought a deliver_sm: its answer goes back on it (OperatorAcks, upstream/upstreams.h).
struct LinkRef {
  uint64_t id = 0;
  int upstream = 0;  // index into the configured upstreams
};
class OperatorDeliveries {
 public:
  virtual ~OperatorDeliveries() = default;
  // A well-formed deliver_sm, answered exactly once with OperatorAcks::acknowledge.
  virtual void operator_delivered(const LinkRef& from, uint32_t sequence, smpp::ShortMessage sm) = 0;
};

// An operator link's own bounds, from limits in the configuration.
struct UpstreamLimits {
  ConnectionLimits connection;
  uint64_t response_timeout_ms = 10000;
  uint64_t enquire_link_ms = 30000;
};
UpstreamLimits upstream_limits(const Limits& limits);

class UpstreamSession final : public Connection {
 public:
  enum class State { connecting, binding, bound, unbinding };

  UpstreamSession(uv_loop_t* loop, const UpstreamConfig& config, const UpstreamLimits& limits, Counters& counters,
                  LinkEvents& events, OperatorDeliveries& deliveries, LinkTally& tally, int upstream, int slot, uint64_t id);
  ~UpstreamSession() override;
  // Connects to the SMSC's address; a host name is looked up first, on libuv's thread pool.
  void connect();

  uint64_t id() const { return id_; }
  int slot() const { return slot_; }
  int upstream() const { return upstream_; }
  bool bound() const { return state_ == State::bound && !closing(); }
  bool has_room() const { return bound() && int(in_flight_.size()) < config_.window; }
  size_t in_flight() const { return in_flight_.size(); }

  void send(SubmitPtr submit);
  void acknowledge_deliver(uint32_t sequence, uint32_t status);
  // Shutdown: submits still unanswered are answered ESME_RSYSERR (before their customers are
  // unbound), then unbind; the operator's unbind_resp closes the link. An unbound link just closes.
  void unbind(std::string_view why = "shutting down");
  bool unbinding() const { return state_ == State::unbinding; }

 std::string describe() const override;

 protected:
  void on_pdu(std::string_view pdu) override;
  void on_tick(uint64_t now_ms) override;
  void on_closed() override;

 private:
  void on_bind_resp(const smpp::Header& h, std::string_view pdu);
  void on_submit_resp(const smpp::Header& h, std::string_view pdu);
  void fail_expired(uint64_t now_ms);
  void connect_to(const sockaddr_storage& addr);
  struct Lookup;  // a DNS lookup in flight; outlives this session if it closes first

  const UpstreamConfig& config_;
  UpstreamLimits limits_;
  LinkEvents& events_;
  OperatorDeliveries& deliveries_;
  LinkTally& tally_;  // the NOC's figures for this link (kept by Upstreams, outlives this session)
  smpp::Session link_;
  int upstream_;
  int slot_;
  uint64_t id_;
  State state_ = State::connecting;
  uv_connect_t connect_req_{};
  Lookup* lookup_ = nullptr;
  uint64_t state_since_ms_ = 0;
  // Node memory comes back to this pool when an answer takes a submit out: sending allocates nothing.
  std::pmr::unsynchronized_pool_resource in_flight_pool_;
  std::pmr::unordered_map<uint32_t, SubmitPtr> in_flight_{&in_flight_pool_};
};

}  // namespace proxy
