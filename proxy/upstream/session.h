// One bound link to an operator SMSC: our submits out, its receipts and MOs in.
#pragma once

#include <memory>
#include <unordered_map>

#include "proxy/config/config.h"
#include "proxy/net/connection.h"
#include "proxy/flow.h"
#include "smpp/protocol.h"

namespace proxy {

class Relay;

class UpstreamSession final : public Connection {
 public:
  enum class State { connecting, binding, bound, unbinding };

  UpstreamSession(Relay& relay, const UpstreamConfig& config, int upstream, int slot, uint64_t id);
  void connect();

  uint64_t id() const { return id_; }
  int slot() const { return slot_; }
  int upstream() const { return upstream_; }
  bool bound() const { return state_ == State::bound && !closing(); }
  bool has_room() const { return bound() && int(in_flight_.size()) < config_.window; }
  size_t in_flight() const { return in_flight_.size(); }

  void send(std::unique_ptr<Submit> submit);
  void acknowledge_deliver(uint32_t sequence, uint32_t status);
  // Shutdown: submits still unanswered are answered ESME_RSYSERR (before their customers are
  // unbound), then unbind; the operator's unbind_resp closes the link. An unbound link just closes.
  void unbind();

 std::string describe() const override;

 protected:
  void on_pdu(std::string_view pdu) override;
  void on_tick(uint64_t now_ms) override;
  void on_closed() override;

 private:
  void on_bind_resp(const smpp::Header& h, std::string_view pdu);
  void on_submit_resp(const smpp::Header& h, std::string_view pdu);
  void fail_expired(uint64_t now_ms);

  Relay& relay_;
  const UpstreamConfig& config_;
  int upstream_;
  int slot_;
  uint64_t id_;
  State state_ = State::connecting;
  uv_connect_t connect_req_{};
  uint32_t sequence_ = 0;
  uint64_t state_since_ms_ = 0;
  uint64_t enquire_sent_ms_ = 0;
  std::unordered_map<uint32_t, std::unique_ptr<Submit>> in_flight_;
};

}  // namespace proxy
