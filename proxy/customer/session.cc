// The customer side of the proxy: SMPP as an SMSC would speak it to an ESME.
#include "proxy/customer/session.h"

#include <fmt/format.h>

#include <algorithm>

#include "proxy/customer/account.h"
#include "proxy/log.h"
#include "proxy/net/proxy_protocol.h"
#include "proxy/stats/stats.h"
#include "smpp/codec.h"

namespace proxy {

using smpp::Command;
namespace status = smpp::status;

namespace {
constexpr uint64_t kBindDeadlineMs = 30000;  // a connection that never binds is closed
constexpr int kUnboundPdusMax = 8;  // PDUs a connection may send before it binds
}

CustomerLimits customer_limits(const Limits& limits) {
  return CustomerLimits{connection_limits(limits), limits.customer_window, uint64_t(limits.response_timeout_ms),
                        uint64_t(limits.enquire_link_s) * 1000, uint64_t(limits.proxy_header_timeout_ms)};
}

CustomerSession::CustomerSession(uv_loop_t* loop, uint64_t id, const CustomerLimits& limits, Counters& counters,
                                 CustomerWiring wiring)
    : Connection(loop, limits.connection, counters), limits_(limits), wiring_(wiring),
      link_({limits.enquire_link_ms, limits.response_timeout_ms}), id_(id) {
  opened_ms_ = uv_now(loop);
}

void CustomerSession::accepted() {
  sockaddr_storage addr{};
  int len = sizeof addr;
  if (uv_tcp_getpeername(tcp(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) addr = {};
  set_remote(addr);
}

void CustomerSession::set_remote(const sockaddr_storage& address) {
  remote_ = address;
  address_ = proxy_protocol::host_of(address);
  set_peer(fmt::format("{}:{}", address_, proxy_protocol::port_of(address)));
}

void CustomerSession::start(bool from_balancer) {
  from_balancer_ = from_balancer;
  // From anyone else, the first bytes are only looked at: a PROXY header's first 12 tell it.
  expect_preamble(from_balancer ? proxy_protocol::kMaxHeader : 12);
  start_reading();
}

// A balancer's header replaces its own address with the customer's before anything else sees
// the connection (caps, allowlists, lockouts, bans, logs); a header from anyone else is refused.
Connection::Preamble CustomerSession::on_preamble(std::string_view bytes) {
  if (!from_balancer_) {
    switch (proxy_protocol::sniff(bytes)) {
      case proxy_protocol::Sniff::no: return {Preamble::done, 0};
      case proxy_protocol::Sniff::maybe: return {Preamble::need_more, 0};
      case proxy_protocol::Sniff::yes: break;
    }
    ++counters_.proxy_headers_refused_not_balancer;
    close("a PROXY protocol header from an address not in listen.proxy_from");
    return {Preamble::refused, 0};
  }
  proxy_protocol::Header header = proxy_protocol::parse(bytes);
  switch (header.status) {
    case proxy_protocol::Status::need_more: return {Preamble::need_more, 0};
    case proxy_protocol::Status::invalid:
      ++counters_.proxy_headers_invalid;
      close(fmt::format("from a balancer, no valid PROXY protocol header: {}", header.error));
      return {Preamble::refused, 0};
    case proxy_protocol::Status::done: break;
  }
  ++counters_.proxy_headers_accepted;
  std::string balancer = peer();
  if (!header.local) set_remote(header.source);
  log::debug("{} through balancer {}", describe(), balancer);
  wiring_.binds->admit(*this);
  return {Preamble::done, header.length};
}

std::string CustomerSession::describe() const {
  return fmt::format("customer {} session {} from {}", account_ ? account_->name : "(unbound)", id_, peer());
}

bool CustomerSession::ready_for_pdu() const {
  // We sent unbind (shutdown, a kick): read up to its answer; what crossed it stays in the window.
  if (state_ == State::unbinding) return unbind_answered_ || shutting_down() || outstanding_ < window_;
  if (shutting_down()) return false;            // no new work while what is in flight is answered
  // While a bind is being verified nothing else is read; past the window, backpressure; and
  // while the state store catches up (every message writes to it), backpressure for all.
  return state_ != State::binding && outstanding_ < window_ && !(wiring_.store_behind && *wiring_.store_behind);
}

void CustomerSession::on_stall() {
  // The window is full: backpressure.
  if (state_ == State::bound && !shutting_down()) ++counters_.customer_read_pauses;
}

void CustomerSession::refuse(const smpp::Header& h, uint32_t st) {
  smpp::encode_message_id_resp(out(), smpp::response_to(h.command_id), h.sequence, st, "");
}

// Before it binds a peer is nobody: it may send bind, enquire_link and unbind, and only a few
// PDUs in all, so that an unauthenticated connection costs next to nothing.
bool CustomerSession::taken_before_bind(const smpp::Header& h) {
  if (++unbound_pdus_ > kUnboundPdusMax) {
    ++counters_.sessions_closed_unbound_flood;
    close(fmt::format("more than {} PDUs before bind", kUnboundPdusMax));
    return false;
  }
  switch (Command(h.command_id)) {
    case Command::bind_transmitter:
    case Command::bind_receiver:
    case Command::bind_transceiver:
    case Command::enquire_link:
    case Command::unbind: return true;
    default: break;
  }
  ++counters_.pdus_refused_unbound;
  if (smpp::is_response(h.command_id)) return false;  // nothing was asked of it
  if (Command(h.command_id) == Command::submit_sm) refuse(h, status::ESME_RINVBNDSTS);
  else if (!smpp::is_known_command(h.command_id))
    smpp::encode_header_only(out(), Command::generic_nack, h.sequence, status::ESME_RINVCMDID);
  else smpp::encode_header_only(out(), Command::generic_nack, h.sequence, status::ESME_RINVBNDSTS);
  return false;
}

void CustomerSession::on_pdu(std::string_view pdu) {
  smpp::Header h = smpp::read_header(reinterpret_cast<const uint8_t*>(pdu.data()));
  if (state_ == State::open && !taken_before_bind(h)) return;
  switch (Command(h.command_id)) {
    case Command::bind_transmitter:
    case Command::bind_receiver:
    case Command::bind_transceiver: return on_bind(h, pdu);
    case Command::submit_sm: return on_submit(h, pdu);
    case Command::deliver_sm_resp: return on_deliver_resp(h);
    case Command::generic_nack: return;  // a nack of our enquire_link or deliver_sm: nothing to retry
    default: break;
  }
  // Keepalive, unbind, and requests we do not serve (query_sm, data_sm, unknown ids).
  switch (link_.on_pdu(h, out())) {
    case smpp::Session::Event::none: return;
    case smpp::Session::Event::nacked: ++counters_.generic_nacks_sent; return;
    case smpp::Session::Event::peer_unbound:
      state_ = State::unbinding;
      return close_after_flush("customer unbound");
    case smpp::Session::Event::unbind_answered:
      // Submits still at an operator (an admin's kick comes at any moment) are answered first:
      // each has its one response, bounded by the operator side's timeout.
      unbind_answered_ = true;
      if (outstanding_ == 0) close_after_flush("unbind acknowledged");
      return;
  }
}

void CustomerSession::on_bind(const smpp::Header& h, std::string_view pdu) {
  Command kind = Command(h.command_id);
  if (state_ != State::open) {
    smpp::encode_bind_resp(out(), kind, h.sequence, status::ESME_RALYBND, {"hajib", std::nullopt});
    return;
  }
  smpp::Bind bind;
  smpp::DecodeError error;
  if (!smpp::decode_bind(pdu, bind, error)) {
    ++counters_.pdus_malformed;
    log::warn_limited("{}: malformed bind: {}", describe(), json_quoted(error.reason));
    smpp::encode_bind_resp(out(), kind, h.sequence, error.status, {"hajib", std::nullopt});
    return close_after_flush("malformed bind");
  }
  state_ = State::binding;
  bind_kind_ = kind;
  wiring_.binds->authorize(*this, bind, h.sequence);
}

void CustomerSession::bind_decided(Account* account, uint32_t st, uint32_t sequence) {
  if (closing()) return;
  smpp::BindResp resp{"hajib", std::optional<uint8_t>(smpp::kInterfaceVersion)};
  smpp::encode_bind_resp(out(), bind_kind_, sequence, st, resp);
  if (st != status::ESME_ROK) {
    state_ = State::open;
    return close_after_flush(fmt::format("bind refused with {}", smpp::status_name(st)));
  }
  state_ = State::bound;
  bound_at_ms_ = uv_now(loop_);
  account_ = account;
  window_ = account->config->window ? account->config->window : limits_.window;
  resume_reading();
}

void CustomerSession::on_submit(const smpp::Header& h, std::string_view pdu) {
  // A submit sent before the customer saw our unbind (shutdown, a kick) crossed it: it is relayed
  // as usual while the links are up. After its unbind_resp, or once the links go, it is refused.
  bool crossed_our_unbind = state_ == State::unbinding && unbind_sent_ms_ && !unbind_answered_;
  if ((state_ == State::unbinding && !crossed_our_unbind) || shutting_down()) {
    ++counters_.submits_temporary_error;  // retry on another instance or later
    return refuse(h, status::ESME_RSYSERR);
  }
  if (!can_transmit() && !(crossed_our_unbind && bind_kind_ != Command::bind_receiver)) return refuse(h, status::ESME_RINVBNDSTS);
  smpp::ShortMessageView sm;
  smpp::DecodeError error;
  if (!smpp::read_short_message(pdu, sm, error)) {
    ++counters_.pdus_malformed;
    log::warn_limited("{}: malformed submit_sm seq {}: {}", describe(), h.sequence, json_quoted(error.reason));
    return refuse(h, error.status);
  }
  ++outstanding_;
  wiring_.submits->submit(SubmitOrigin{id_, account_}, h.sequence, pdu, sm);
}

void CustomerSession::answer_submit(uint32_t sequence, uint32_t st, std::string_view message_id) {
  --outstanding_;
  if (!can_write()) return;
  smpp::encode_message_id_resp(out(), Command::submit_sm_resp, sequence, st, message_id);
  if (unbind_answered_ && outstanding_ == 0) return close_after_flush("unbind acknowledged");
  resume_reading();
}

void CustomerSession::unbind(std::string_view why) {
  if (closing() || state_ == State::unbinding) return;  // told already: its answer closes it
  if (state_ != State::bound) return close_after_flush(why);
  state_ = State::unbinding;
  unbind_sent_ms_ = uv_now(loop_);
  ++counters_.unbinds_sent;
  link_.unbind(out());
  resume_reading();
}

const char* CustomerSession::bind_type() const {
  switch (bind_kind_) {
    case Command::bind_transmitter: return "transmitter";
    case Command::bind_receiver: return "receiver";
    default: return "transceiver";
  }
}

void CustomerSession::deliver(std::unique_ptr<Delivery> delivery) {
  to_deliver_.push_back(std::move(delivery));
  send_deliveries();
}

void CustomerSession::send_deliveries() {
  while (!to_deliver_.empty() && int(awaiting_ack_.size()) < window_ && !closing()) {
    auto d = std::move(to_deliver_.front());
    to_deliver_.pop_front();
    uint32_t seq = link_.next_sequence();
    smpp::patch_sequence(reinterpret_cast<uint8_t*>(d->pdu.data()), seq);
    out().append(d->pdu);
    d->sent_ms = uv_now(loop_);
    awaiting_ack_.emplace(seq, std::move(d));
  }
}

void CustomerSession::on_deliver_resp(const smpp::Header& h) {
  auto it = awaiting_ack_.find(h.sequence);
  if (it == awaiting_ack_.end()) return;  // late or unknown: the delivery was already handled
  auto d = std::move(it->second);
  awaiting_ack_.erase(it);
  delivery_backoff_ms_ = 0;
  deliveries_paused_until_ms_ = 0;
  wiring_.deliveries->delivery_acknowledged(std::move(d), h.status);
  send_deliveries();
}

// A delivery the customer has not acknowledged within the response timeout is given back (it
// stays kept in the state store and is sent again later), so that its place in the window
// serves others.
void CustomerSession::expire_deliveries(uint64_t now_ms) {
  uint64_t timeout = limits_.response_timeout_ms;
  for (auto it = awaiting_ack_.begin(); it != awaiting_ack_.end();) {
    if (now_ms - it->second->sent_ms < timeout) {
      ++it;
      continue;
    }
    auto d = std::move(it->second);
    it = awaiting_ack_.erase(it);
    if (now_ms >= deliveries_paused_until_ms_) {  // once a round, however many of it timed out
      delivery_backoff_ms_ = std::clamp<uint64_t>(delivery_backoff_ms_ * 2, 1000, 60000);
      deliveries_paused_until_ms_ = now_ms + delivery_backoff_ms_;
    }
    wiring_.deliveries->delivery_undelivered(std::move(d), true);
  }
}

int CustomerSession::delivery_room() const {
  if (!can_receive() || closing() || uv_now(loop_) < deliveries_paused_until_ms_) return 0;
  return std::max(0, window_ - int(awaiting_ack_.size() + to_deliver_.size()));
}

void CustomerSession::on_tick(uint64_t now_ms) {
  if (awaiting_proxy_header() && now_ms - opened_ms_ > limits_.proxy_header_timeout_ms) {
    ++counters_.proxy_headers_timed_out;
    return close(fmt::format("no PROXY protocol header within {} ms", limits_.proxy_header_timeout_ms));
  }
  if (state_ == State::open && now_ms - opened_ms_ > kBindDeadlineMs) return close("no bind within 30 s");
  if (unbind_sent_ms_ && !unbind_answered_ && now_ms - unbind_sent_ms_ > limits_.response_timeout_ms) return close("no unbind_resp");
  if (state_ != State::bound) return;
  expire_deliveries(now_ms);
  send_deliveries();
  // While its window is full we do not read the socket: silence is ours, not a dead peer.
  if (!link_.keepalive(now_ms, last_received_ms(), !stalled(), out())) close("no answer to enquire_link");
}

void CustomerSession::on_closed() {
  // Deliveries the customer never acknowledged go back to the state store: nothing is lost.
  for (auto& [seq, d] : awaiting_ack_) wiring_.deliveries->delivery_undelivered(std::move(d), false);
  for (auto& d : to_deliver_) wiring_.deliveries->delivery_undelivered(std::move(d), false);
  awaiting_ack_.clear();
  to_deliver_.clear();
  wiring_.binds->session_closed(*this);  // destroys this
}

}  // namespace proxy
