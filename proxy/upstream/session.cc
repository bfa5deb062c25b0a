// The operator side of the proxy: SMPP as an ESME speaks it to an SMSC.
#include "proxy/upstream/session.h"

#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "proxy/log.h"
#include "proxy/state/store.h"
#include "proxy/stats/server.h"
#include "proxy/stats/stats.h"
#include "smpp/codec.h"
#include "smpp/pdu_view.h"

namespace proxy {

using smpp::Command;
namespace status = smpp::status;

UpstreamLimits upstream_limits(const Limits& limits) {
  return UpstreamLimits{connection_limits(limits), uint64_t(limits.response_timeout_ms), uint64_t(limits.enquire_link_s) * 1000};
}

UpstreamSession::UpstreamSession(uv_loop_t* loop, const UpstreamConfig& config, const UpstreamLimits& limits,
                                 Counters& counters, LinkEvents& events, OperatorDeliveries& deliveries, LinkTally& tally,
                                 int upstream, int slot, uint64_t id)
    : Connection(loop, limits.connection, counters), config_(config), limits_(limits), events_(events),
      deliveries_(deliveries), tally_(tally), link_({limits.enquire_link_ms, limits.response_timeout_ms}),
      upstream_(upstream), slot_(slot), id_(id) {
  set_peer(config.address.to_string());
  state_since_ms_ = uv_now(loop);
}

std::string UpstreamSession::describe() const { return fmt::format("upstream {} link {} ({})", config_.name, slot_, peer()); }

struct UpstreamSession::Lookup {
  uv_getaddrinfo_t req{};
  UpstreamSession* owner = nullptr;  // null once the session is gone: the answer is dropped
};

UpstreamSession::~UpstreamSession() {
  if (!lookup_) return;
  lookup_->owner = nullptr;
  uv_cancel(reinterpret_cast<uv_req_t*>(&lookup_->req));
}

// upstreams.NAME.host may be a name (check says whether it resolves): looked up before every
// attempt, so that a moved SMSC is followed, and never on the loop, where a slow resolver would
// stall every customer.
void UpstreamSession::connect() {
  sockaddr_storage addr;
  if (to_sockaddr(config_.address, addr) == 0) return connect_to(addr);
  lookup_ = new Lookup{{}, this};
  lookup_->req.data = lookup_;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  auto on_resolved = [](uv_getaddrinfo_t* req, int status, addrinfo* found) {
    auto* lookup = static_cast<Lookup*>(req->data);
    UpstreamSession* self = lookup->owner;
    delete lookup;
    // IPv4 first when the name has both: SMSC links are IPv4 almost everywhere, and a name like
    // localhost lists ::1 first where the SMSC may listen on 127.0.0.1 only.
    const addrinfo* chosen = found;
    for (const addrinfo* a = found; a; a = a->ai_next)
      if (a->ai_family == AF_INET) { chosen = a; break; }
    sockaddr_storage resolved{};
    if (status == 0 && chosen) std::memcpy(&resolved, chosen->ai_addr, chosen->ai_addrlen);
    uv_freeaddrinfo(found);
    if (!self) return;
    self->lookup_ = nullptr;
    if (status != 0) return self->close(fmt::format("cannot resolve {}: {}", self->config_.address.host, uv_strerror(status)));
    self->connect_to(resolved);
  };
  const std::string port = std::to_string(config_.address.port);
  if (int rc = uv_getaddrinfo(loop_, &lookup_->req, on_resolved, config_.address.host.c_str(), port.c_str(), &hints)) {
    delete std::exchange(lookup_, nullptr);
    close(fmt::format("cannot resolve {}: {}", config_.address.host, uv_strerror(rc)));
  }
}

void UpstreamSession::connect_to(const sockaddr_storage& addr) {
  connect_req_.data = this;
  int rc = uv_tcp_connect(&connect_req_, tcp(), reinterpret_cast<const sockaddr*>(&addr), [](uv_connect_t* req, int st) {
    auto* self = static_cast<UpstreamSession*>(req->data);
    if (st == UV_ECANCELED) return;
    if (st < 0) return self->close(fmt::format("connect failed: {}", uv_strerror(st)));
    self->start_reading();
    self->state_ = State::binding;
    self->state_since_ms_ = uv_now(self->loop_);
    smpp::Bind bind;
    bind.kind = Command::bind_transceiver;
    bind.system_id = self->config_.system_id;
    bind.password = self->config_.password;
    bind.system_type = self->config_.system_type;
    smpp::encode_bind(self->out(), self->link_.next_sequence(), bind);
  });
  if (rc != 0) close(fmt::format("connect failed: {}", uv_strerror(rc)));
}

void UpstreamSession::send(SubmitPtr submit) {
  uint32_t seq = link_.next_sequence();
  smpp::patch_sequence(reinterpret_cast<uint8_t*>(submit->pdu.data()), seq);
  out().append(submit->pdu);
  submit->sent_us = uv_hrtime() / 1000;
  submit->deadline_ms = uv_now(loop_) + limits_.response_timeout_ms;
  in_flight_.emplace(seq, std::move(submit));
  ++tally_.sent;
}

void UpstreamSession::acknowledge_deliver(uint32_t sequence, uint32_t st) {
  if (can_write()) smpp::encode_message_id_resp(out(), Command::deliver_sm_resp, sequence, st, "");
}

void UpstreamSession::unbind(std::string_view why) {
  if (closing()) return;
  if (state_ != State::bound) return close(why);
  // Never re-sent on our own: the operator may still take these, as when a link drops.
  tally_.failed += in_flight_.size();
  for (auto& [seq, submit] : in_flight_) events_.submit_answered(std::move(submit), status::ESME_RSYSERR, "");
  in_flight_.clear();
  state_ = State::unbinding;
  state_since_ms_ = uv_now(loop_);
  ++counters_.unbinds_sent;
  link_.unbind(out());
}

void UpstreamSession::on_pdu(std::string_view pdu) {
  smpp::Header h = smpp::read_header(reinterpret_cast<const uint8_t*>(pdu.data()));
  switch (Command(h.command_id)) {
    case Command::bind_transceiver_resp: return on_bind_resp(h, pdu);
    case Command::submit_sm_resp: return on_submit_resp(h, pdu);
    case Command::generic_nack: return on_submit_resp(h, std::string_view());
    case Command::deliver_sm: {
      smpp::ShortMessage sm;
      smpp::DecodeError error;
      if (!smpp::decode_short_message(pdu, sm, error)) {
        ++counters_.pdus_malformed;
        log::warn_limited("{}: malformed deliver_sm seq {}: {}", describe(), h.sequence, json_quoted(error.reason));
        return acknowledge_deliver(h.sequence, error.status);
      }
      return deliveries_.operator_delivered(LinkRef{id_, upstream_}, h.sequence, std::move(sm));
    }
    default: break;
  }
  switch (link_.on_pdu(h, out())) {
    case smpp::Session::Event::none: return;
    case smpp::Session::Event::nacked: ++counters_.generic_nacks_sent; return;
    case smpp::Session::Event::peer_unbound: return close_after_flush("operator unbound");
    case smpp::Session::Event::unbind_answered: return close("unbind acknowledged");
  }
}

void UpstreamSession::on_bind_resp(const smpp::Header& h, std::string_view pdu) {
  if (state_ != State::binding) return;
  smpp::BindResp resp;
  smpp::DecodeError error;
  if (h.status != status::ESME_ROK || !smpp::decode_bind_resp(pdu, resp, error))
    return close(fmt::format("bind refused: status 0x{:08X} {}", h.status, json_quoted(error.reason)));
  state_ = State::bound;
  log::info("{} bound (system_id {})", describe(), json_quoted(resp.system_id));
  events_.link_bound(*this);
}

void UpstreamSession::on_submit_resp(const smpp::Header& h, std::string_view pdu) {
  auto it = in_flight_.find(h.sequence);
  if (it == in_flight_.end()) return;  // timed out already, or not ours
  auto submit = std::move(it->second);
  in_flight_.erase(it);
  tally_.rtt.record(uv_hrtime() / 1000 - submit->sent_us);
  std::string_view operator_id;
  smpp::DecodeError error;
  uint32_t st = h.status;
  if (!pdu.empty() && !smpp::read_message_id_resp(pdu, operator_id, error)) {
    ++counters_.pdus_malformed;
    // The operator took the message but its id is unreadable: accept, receipts will not map.
    log::warn_limited("{}: malformed submit_sm_resp: {}", describe(), json_quoted(error.reason));
  }
  if (Command(h.command_id) == Command::generic_nack && st == status::ESME_ROK) st = status::ESME_RSYSERR;
  ++(st == status::ESME_ROK ? tally_.accepted : tally_.refused);
  events_.submit_answered(std::move(submit), st, operator_id);
}

void UpstreamSession::fail_expired(uint64_t now_ms) {
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second->deadline_ms > now_ms) {
      ++it;
      continue;
    }
    ++counters_.upstream_requests_timed_out;
    ++tally_.failed;
    auto submit = std::move(it->second);
    it = in_flight_.erase(it);
    events_.submit_answered(std::move(submit), status::ESME_RSYSERR, "");
  }
}

void UpstreamSession::on_tick(uint64_t now_ms) {
  uint64_t timeout = limits_.response_timeout_ms;
  if (state_ == State::unbinding) {
    if (now_ms - state_since_ms_ > timeout) close("no unbind_resp");
    return;
  }
  if (state_ != State::bound) {
    if (now_ms - state_since_ms_ > timeout) close(state_ == State::connecting ? "connect timed out" : "bind timed out");
    return;
  }
  fail_expired(now_ms);
  if (!link_.keepalive(now_ms, last_received_ms(), true, out())) close("no answer to enquire_link");
}

void UpstreamSession::on_closed() {
  // The operator may or may not have taken these: answer a temporary error, never resend
  // on our own, so that nothing is duplicated at the operator.
  bool was_bound = state_ == State::bound;
  tally_.failed += in_flight_.size();
  for (auto& [seq, submit] : in_flight_) events_.submit_answered(std::move(submit), status::ESME_RSYSERR, "");
  in_flight_.clear();
  events_.link_closed(*this, was_bound);  // destroys this
}

}  // namespace proxy
