// The path of a message through Hajib, wired on one libuv loop.
//
//   customer ──bind──▶ CustomerSession ──authorize──▶ Relay (allowlist, bind limit, Argon2 off-loop)
//   customer ──submit_sm──▶ CustomerSession (window; decode once) ──submit──▶ Relay
//       normalise destination ─▶ ported number? (in memory, from the state store) ─▶ RouteTable ─▶ UpstreamPool
//       ─▶ UpstreamSession (a link with room; else wait, bounded by the customers' windows)
//       ─▶ operator SMSC
//   operator ──submit_sm_resp──▶ UpstreamSession ──submit_answered──▶ Relay
//       remember operator id → our id (state store, TTL) ─▶ customer gets exactly one submit_sm_resp
//   operator ──deliver_sm──▶ UpstreamSession ──operator_delivered──▶ Relay
//       receipt: operator id → (account, our id), rewrite id ─┐
//       MO: destination → owning account ─────────────────────┴▶ a receiver session of the account,
//       or kept in the state store until one binds; the operator is acknowledged once the
//       customer acknowledged or the delivery is kept.
#include "proxy/relay.h"

#include <fmt/format.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "policy/msisdn.h"
#include "proxy/customer/session.h"
#include "proxy/log.h"
#include "proxy/submit/message_text.h"
#include "policy/saudi_time.h"
#include "proxy/customer/passwords.h"
#include "proxy/deliver/receipt_id.h"
#include "proxy/stats/server.h"
#include "proxy/upstream/session.h"
#include "smpp/codec.h"
#include "smpp/pdu_edit.h"
#include "smpp/smpp_time.h"

namespace proxy {

namespace status = smpp::status;

namespace {
constexpr uint64_t kTickMs = 250;
constexpr int kShutdownGraceMs = 2000;
constexpr uint64_t kUnbindWaitMs = 2000;  // at shutdown, for each peer's unbind_resp
constexpr uint64_t kLastFlushMs = 1000;   // then for what is still queued to peers that did not answer
constexpr uint32_t kSequenceSetWhenSent = 1;  // libsmpp34 refuses 0; the session patches the real one

// When a message's receipt mapping may go: its receipt can come until its validity_period ends,
// and an EXPIRED receipt a little after. 0 (the configured default) when it gives none.
int64_t receipt_expiry(std::string_view validity_period, int64_t now) {
  auto until = smpp::smpp_time_to_unix(validity_period, now);
  if (!until) return 0;
  return std::clamp<int64_t>(*until + 3600, now + 60, now + StateStore::kReceiptMappingMaxS);
}
}  // namespace

Relay::Relay(uv_loop_t* loop, Config config, uint32_t instance, std::string version)
    : loop_(loop), config_(std::move(config)), store_(make_state_store(loop, config_, stats_.counters)),
      receipts_(*store_, stats_.counters,
                ReceiptMap::Limits{size_t(config_.limits.receipt_map_local_max), uint64_t(config_.limits.receipt_map_hold_s) * 1000,
                                   uint64_t(config_.limits.unknown_receipt_retry_s) * 1000}),
      ids_(instance),
      address_guard_(config_.limits.bind_failures_max, config_.limits.bind_failures_window_s, config_.limits.bind_failures_block_s),
      account_guard_(config_.limits.bind_failures_account_max, config_.limits.bind_failures_window_s,
                     config_.limits.bind_failures_block_s),
      verifier_(loop, stats_.counters.argon2_runs), version_(std::move(version)), started_ms_(uv_now(loop)), owner_(fmt::format("{:05x}", instance)) {
  for (const auto& [name, account] : config_.accounts) {
    accounts_[name].name = name;
    accounts_[name].config = account;
  }
  policy_ = config_.policy;
  store_->on_back([this](bool lost) { receipts_.store_back(lost); });
  if (!policy_->enforcing()) log::warn("policy.mode is off: messages are relayed without any rule");
  if (!audit_.open(config_.audit_file, config_.audit_mask_numbers, config_.audit_visible_digits))
    log::error("cannot open the audit log {}: {}", config_.audit_file, std::strerror(errno));
  pools_.resize(config_.upstreams.size());
  for (size_t i = 0; i < pools_.size(); ++i) {
    pools_[i].config = &config_.upstreams[i];
    for (int s = 0; s < config_.upstreams[i].sessions; ++s) pools_[i].links.push_back(std::make_unique<UpstreamPool::Link>());
  }
}

Relay::~Relay() = default;

int Relay::start() {
  sockaddr_storage addr;
  if (int rc = to_sockaddr(config_.smpp_listen, addr)) return rc;
  uv_tcp_init(loop_, &listener_);
  listener_.data = this;
  // SO_REUSEPORT: several hajib processes can share one port, the kernel spreading the binds;
  // the rules they enforce together live in Redis (docs/state.md).
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 || uv_tcp_open(&listener_, fd) != 0) {
    if (fd >= 0) ::close(fd);
    return UV_EINVAL;
  }
  if (int rc = uv_tcp_bind(&listener_, reinterpret_cast<sockaddr*>(&addr), 0)) return rc;
  if (int rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 1024, [](uv_stream_t* s, int st) {
        if (st == 0) static_cast<Relay*>(s->data)->accept_customer();
      }))
    return rc;
  smpp_port_ = bound_port(&listener_);
  for (size_t u = 0; u < pools_.size(); ++u)
    for (size_t s = 0; s < pools_[u].links.size(); ++s) {
      auto& link = *pools_[u].links[s];
      link.relay = this;
      link.upstream = int(u);
      link.slot = int(s);
      uv_timer_init(loop_, &link.reconnect);
      link.reconnect.data = &link;
      start_link(int(u), int(s));
    }
  uv_timer_init(loop_, &tick_);
  tick_.data = this;
  uv_timer_start(&tick_, [](uv_timer_t* t) { static_cast<Relay*>(t->data)->on_tick(); }, kTickMs, kTickMs);
  return 0;
}

// ---- customers: accept and bind ----

void Relay::accept_customer() {
  uint64_t id = next_session_id_++;
  auto session = std::make_unique<CustomerSession>(*this, id);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(session->tcp())) != 0) {
    session->close("accept failed");
    customers_.emplace(id, std::move(session));  // freed by its close callback
    return;
  }
  ++counters().customer_connections;
  session->accepted();
  admit(*session);
  customers_.emplace(id, std::move(session));
}

// Accepted, then closed at once when over a cap (each refusal counted): what one address, or
// everyone together, can hold open stays bounded. Counted open until customer_closed().
bool Relay::admit(CustomerSession& session) {
  const Limits& l = config_.limits;
  int& from_address = connections_per_address_[session.remote_address()];
  bool over_total = customers_.size() >= size_t(l.connections_max);
  bool over_address = from_address >= l.connections_per_address_max;
  ++from_address;
  if (!over_total && !over_address) return true;
  ++(over_address ? counters().connections_refused_per_address : counters().connections_refused_total);
  session.close(over_address ? fmt::format("{} connections from this address already", l.connections_per_address_max)
                             : fmt::format("{} customer connections already", l.connections_max));
  return false;
}

// A guess costs an Argon2 check only while both its address and the account are under their
// failure limits, checks in flight included; an account over its limit still takes a password that
// verified recently (no Argon2), so a storm of guesses blocks the attacker, not the real customer.
// A bind slot is taken only once the password verified.
void Relay::authorize(CustomerSession& session, const smpp::Bind& bind, uint32_t sequence) {
  const std::string& address = session.remote_address();
  auto refuse = [&](uint64_t& reason, uint32_t st, std::string_view why) {
    refuse_bind(session, bind.system_id, reason, st, why, sequence);
  };
  if (shutting_down_) return refuse(counters().binds_refused_shutting_down, status::ESME_RBINDFAIL, "shutting down");
  if (address_guard_.blocked(address, now_ms()))
    return refuse(counters().binds_blocked, status::ESME_RBINDFAIL, "too many failed binds from this address");
  auto it = accounts_.find(bind.system_id);
  if (it == accounts_.end() || !it->second.config) {
    address_guard_.failed(address, now_ms());
    return refuse(counters().binds_refused_unknown_system_id, status::ESME_RINVSYSID, "unknown system_id");
  }
  Account& account = it->second;
  sockaddr_storage peer{};
  int len = sizeof peer;
  uv_tcp_getpeername(session.tcp(), reinterpret_cast<sockaddr*>(&peer), &len);
  bool allowed = false;
  for (const auto& cidr : account.config->allow_ips) allowed = allowed || cidr.contains(reinterpret_cast<sockaddr*>(&peer));
  if (!allowed) {
    address_guard_.failed(address, now_ms());
    return refuse(counters().binds_refused_address_not_allowed, status::ESME_RBINDFAIL, "address not in allow_ips");
  }
  if (account.binds >= account.config->max_binds)  // checked again once the password verified
    return refuse(counters().binds_refused_bind_limit, status::ESME_RBINDFAIL, fmt::format("account already has {} binds", account.binds));
  if (verifier_.remembered(account.name, account.config->password_hash, bind.password)) return accept_bind(session, account, sequence);
  // An account under attack is not locked against its own customer: an address with nothing
  // against it (no failure, no check running) still gets its password checked, one at a time;
  // every address that already guessed wrong is refused without a check.
  if (account_guard_.blocked(account.name, now_ms()) && !address_guard_.clean(address, now_ms()))
    return refuse(counters().binds_refused_account_locked, status::ESME_RBINDFAIL, "too many failed binds for this account");

  address_guard_.started(address);
  account_guard_.started(account.name);
  verifier_.verify(account.name, account.config->password_hash, bind.password,
                   [this, id = session.id(), address = address, name = account.name, sequence](bool ok) {
                     password_checked(id, address, name, sequence, ok);
                   });
}

// Counted whether or not the session is still there: closing the connection must not hide a guess.
void Relay::password_checked(uint64_t session_id, const std::string& address, const std::string& account_name,
                             uint32_t sequence, bool ok) {
  address_guard_.finished(address, ok, now_ms());
  account_guard_.finished(account_name, ok, now_ms());
  auto it = customers_.find(session_id);
  bool gone = it == customers_.end() || it->second->closing();
  if (!ok && gone) {
    ++counters().binds_refused;
    ++counters().binds_refused_wrong_password;
    log::warn_limited("bind refused for system_id {} from {}: wrong password (the connection had closed)",
               json_quoted(account_name), address);
  }
  if (gone) return;
  CustomerSession& session = *it->second;
  if (!ok)
    return refuse_bind(session, account_name, counters().binds_refused_wrong_password, status::ESME_RINVPASWD, "wrong password", sequence);
  Account& account = accounts_[account_name];
  if (!account.config)  // removed by a reload while Argon2 ran
    return refuse_bind(session, account_name, counters().binds_refused_unknown_system_id, status::ESME_RINVSYSID, "unknown system_id", sequence);
  accept_bind(session, account, sequence);
}

void Relay::accept_bind(CustomerSession& session, Account& account, uint32_t sequence) {
  if (shutting_down_) return refuse_bind(session, account.name, counters().binds_refused_shutting_down, status::ESME_RBINDFAIL, "shutting down", sequence);
  if (account.binds >= account.config->max_binds)
    return refuse_bind(session, account.name, counters().binds_refused_bind_limit, status::ESME_RBINDFAIL,
                       fmt::format("account already has {} binds", account.binds), sequence);
  ++account.binds;
  ++counters().binds_ok;
  session.bind_decided(&account, status::ESME_ROK, sequence);
  log::info("{} bound", session.describe());
  if (session.can_receive()) receiver_bound(session);
}

void Relay::refuse_bind(CustomerSession& session, std::string_view system_id, uint64_t& reason, uint32_t st, std::string_view why,
                        uint32_t sequence) {
  ++counters().binds_refused;
  ++reason;
  log::warn_limited("bind refused for system_id {} from {}: {}", json_quoted(system_id), session.peer(), why);
  session.bind_decided(nullptr, st, sequence);
}

void Relay::receiver_bound(CustomerSession& session) {
  Account& account = *session.account();
  account.receivers.push_back(&session);
  account.next_kept_fetch_ms = 0;  // a receiver bound now gets what was kept at once
  fetch_kept_deliveries(account, now_ms());
}

void Relay::customer_closed(CustomerSession& session) {
  if (auto it = connections_per_address_.find(session.remote_address()); it != connections_per_address_.end())
    if (--it->second <= 0) connections_per_address_.erase(it);
  if (Account* account = session.account()) {
    --account->binds;
    std::erase(account->receivers, &session);
  }
  customers_.erase(session.id());
}

// ---- submit_sm: customer to operator ----

void Relay::refuse(CustomerSession& session, uint32_t sequence, uint32_t st) {
  ++counters().submits_refused;
  stats_.refused(st);
  session.answer_submit(sequence, st, "");
}

int64_t Relay::wall_ms() const {
  if (frozen_clock_) return *frozen_clock_ * 1000;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void Relay::submit(CustomerSession& session, uint32_t sequence, std::string_view pdu, const smpp::ShortMessage& sm) {
  ++counters().submits_received;
  auto destination = policy::normalize_msisdn(sm.destination_addr);
  if (!destination) {
    audit_refusal(session, sm, sm.destination_addr, {}, "destination.invalid", status::ESME_RINVDSTADR);
    return refuse(session, sequence, status::ESME_RINVDSTADR);
  }
  TextResult text = message_text(sm, config_.text, text_);
  if (text == TextResult::bad_udh) {
    audit_refusal(session, sm, *destination, {}, "message.bad_udh", status::ESME_RINVESMCLASS);
    return refuse(session, sequence, status::ESME_RINVESMCLASS);
  }
  bool malformed = false;
  if (auto part = concatenation_of(sm, malformed)) return submit_part(session, sequence, pdu, sm, std::move(*destination), *part);
  if (malformed) {
    audit_refusal(session, sm, *destination, {}, "message.bad_concatenation", status::ESME_RINVESMCLASS);
    return refuse(session, sequence, status::ESME_RINVESMCLASS);
  }
  policy::Verdict verdict;
  if (policy_->enforcing()) {
    policy::Message message{session.account()->name, sm.source_addr, *destination, text_, text == TextResult::ok, 1};
    verdict = policy_->decide(message, policy::Context{wall_ms() / 1000});
    stats_.decided(verdict);
  }
  if (verdict.outcome == policy::Outcome::reject) {
    audit_refusal(session, sm, *destination, verdict, policy::rule_id(verdict.rule));
    return refuse(session, sequence, verdict.status);
  }
  auto submit = std::make_unique<Submit>();
  submit->customer = session.id();
  submit->customer_sequence = sequence;
  submit->account = &session.account()->name;
  submit->destination = std::move(*destination);
  submit->policy = policy_;
  submit->verdict = verdict;
  submit->receipt_expires_s = receipt_expiry(sm.validity_period, wall_ms() / 1000);
  if (audit_.enabled()) submit->sender = sm.source_addr;
  // International TON/NPI with the normalised number; every other byte is the customer's.
  if (!smpp::rewrite_destination(pdu, 1, 1, submit->destination, submit->pdu))
    return refuse(session, sequence, status::ESME_RINVDSTADR);
  policy::StateNeeds needs;
  if (policy_->enforcing()) {
    policy::Message message{session.account()->name, sm.source_addr, submit->destination, text_, text == TextResult::ok, 1};
    needs = policy_->state_needs(message, verdict);
  }
  if (!needs.any()) {
    if (verdict.outcome == policy::Outcome::flag) ++counters().submits_flagged;
    return route(std::move(submit));
  }
  auto reservation = std::make_unique<StateReservation>();
  reservation->account = *submit->account;
  reservation->sender = sm.source_addr;
  reservation->number = submit->destination;
  reservation->number_hash = number_hash(config_, submit->destination);
  reservation->saudi_day = policy::saudi_time(wall_ms() / 1000).day;
  reservation->parts = 1;
  reservation->needs = needs;
  submit->reserved = std::move(reservation);
  const StateReservation& r = *submit->reserved;
  store_->reserve(r, [this, s = submit.release()](bool ok, policy::Rule failed) {
    state_checked(std::unique_ptr<Submit>(s), ok, failed);
  });
}

// The state store's answer for one message: relay it, refuse it, or decide without the store.
void Relay::state_checked(std::unique_ptr<Submit> submit, bool ok, policy::Rule failed) {
  if (!ok) {
    ++counters().state_degraded;
    const policy::StateNeeds& n = submit->reserved->needs;
    std::vector<policy::Rule> needed;
    if (n.throughput) needed.push_back(policy::Rule::account_throughput);
    if (n.opt_out) needed.push_back(policy::Rule::recipient_opted_out);
    if (n.awareness) needed.push_back(policy::Rule::awareness_daily_cap);
    if (n.charge) needed.push_back(policy::Rule::account_balance);
    submit->reserved.reset();  // nothing was taken
    for (policy::Rule r : needed) {
      if (policy_->passes_when_store_down(r)) continue;
      log::warn_limited("state store down: {} cannot be decided for account {}; ESME_RSYSERR (retry)",
                 policy::rule_id(r), *submit->account);
      ++counters().submits_temporary_error;
      audit_answer(*submit, status::ESME_RSYSERR, "");
      return answer(*submit, status::ESME_RSYSERR);
    }
    log::warn_limited("state store down: account {} relayed without its stateful rules (configured to pass)",
               *submit->account);
  } else if (failed != policy::Rule::none) {
    submit->reserved.reset();  // a refused reservation took nothing
    submit->verdict.outcome = policy::Outcome::reject;
    submit->verdict.rule = failed;
    submit->verdict.status = policy_->status(failed);
    if (policy_->action(failed) == policy::Action::reject) {
      stats_.decided(submit->verdict);
      ++counters().submits_refused;
      stats_.refused(submit->verdict.status);
      audit_answer(*submit, submit->verdict.status, "");
      return answer(*submit, submit->verdict.status);
    }
  }
  if (submit->verdict.outcome == policy::Outcome::flag) ++counters().submits_flagged;
  route(std::move(submit));
}

void Relay::audit_refusal(const CustomerSession& session, const smpp::ShortMessage& sm, std::string_view recipient,
                          const policy::Verdict& v, std::string_view rule, uint32_t st) {
  if (!audit_.enabled()) return;
  AuditLog::Decision d;
  d.unix_ms = wall_ms();
  d.policy_version = policy_->version();
  d.account = session.account()->name;
  d.session = session.id();
  d.sender = sm.source_addr;
  d.message_class = v.rule == policy::Rule::none ? "" : policy::name(v.message_class);
  d.recipient = recipient;
  d.verdict = "reject";
  d.rule = rule;
  d.status = st ? st : v.status;
  audit_.decision(d);
}

void Relay::audit_answer(const Submit& submit, uint32_t st, std::string_view operator_id) {
  if (!audit_.enabled()) return;
  AuditLog::Decision d;
  d.unix_ms = wall_ms();
  d.policy_version = submit.policy ? std::string_view(submit.policy->version()) : "";
  d.account = *submit.account;
  d.session = submit.customer;
  d.sender = submit.sender;
  d.message_class = policy::name(submit.verdict.message_class);
  d.recipient = submit.destination;
  static constexpr const char* kVerdict[] = {"accept", "flag", "reject"};
  d.verdict = kVerdict[size_t(submit.verdict.outcome)];
  d.rule = policy::rule_id(submit.verdict.rule);
  d.status = st;
  d.upstream = submit.upstream >= 0 ? std::string_view(config_.upstreams[size_t(submit.upstream)].name) : "";
  d.message_id = st == status::ESME_ROK ? view(submit.id) : "";
  d.operator_message_id = operator_id;
  audit_.decision(d);
}

void Relay::route(std::unique_ptr<Submit> submit) {
  std::optional<std::string_view> ported;
  if (auto it = ported_.find(submit->destination); it != ported_.end()) ported = it->second;
  auto upstream = config_.routes.route(submit->destination, ported);
  if (!upstream) {
    ++counters().submits_refused;
    stats_.refused(status::ESME_RINVDSTADR);
    return answer(*submit, status::ESME_RINVDSTADR);
  }
  submit->upstream = *upstream;
  submit->id = ids_.next();
  dispatch(pools_[size_t(*upstream)], std::move(submit));
}

void Relay::dispatch(UpstreamPool& pool, std::unique_ptr<Submit> submit) {
  bool any_bound = false;
  for (size_t i = 0; i < pool.links.size(); ++i) {
    auto& link = *pool.links[(pool.next_link + i) % pool.links.size()];
    if (!link.session || !link.session->bound()) continue;
    any_bound = true;
    if (pool.waiting.empty() && link.session->has_room()) {
      pool.next_link = (pool.next_link + i + 1) % pool.links.size();
      return link.session->send(std::move(submit));
    }
  }
  if (!any_bound || shutting_down_) {
    ++counters().submits_temporary_error;
    return answer(*submit, status::ESME_RSYSERR);
  }
  // Bounded: every waiting submit holds a place in its customer's window, whose socket is not
  // read while the window is full.
  submit->deadline_ms = now_ms() + uint64_t(config_.limits.response_timeout_ms);
  pool.waiting.push_back(std::move(submit));
}

void Relay::drain(UpstreamPool& pool) {
  while (!pool.waiting.empty()) {
    UpstreamSession* target = nullptr;
    for (size_t i = 0; i < pool.links.size() && !target; ++i) {
      auto& link = *pool.links[(pool.next_link + i) % pool.links.size()];
      if (link.session && link.session->has_room()) {
        target = link.session;
        pool.next_link = (pool.next_link + i + 1) % pool.links.size();
      }
    }
    if (!target) return;
    auto submit = std::move(pool.waiting.front());
    pool.waiting.pop_front();
    target->send(std::move(submit));
  }
}

void Relay::answer(Submit& submit, uint32_t st) {
  // Every submit ends here, once: settle what the state store holds for it.
  if (st == status::ESME_ROK && submit.verdict.outcome != policy::Outcome::reject) {
    // Counted here, written to the store in one batch per tick: billing needs totals, not a
    // round trip per message.
    int64_t day = policy::saudi_time(wall_ms() / 1000).day;
    auto& tally = usage_[{*submit.account, day, submit.verdict.message_class}];
    tally.first += submit.counts_as_message ? 1 : 0;
    tally.second += 1;
  } else if (submit.reserved) {
    store_->release(*submit.reserved);  // not relayed: its awareness allowance and balance come back
  }
  submit.reserved.reset();
  if (submit.internal) return;
  if (submit.answered_early) {
    if (st != status::ESME_ROK && (submit.registered_delivery & 0x03))
      failure_receipt(*submit.account, view(submit.id), submit.sender, submit.destination, st, "REJECTD", 8);
    return;
  }
  auto it = customers_.find(submit.customer);
  if (it == customers_.end()) {
    ++counters().submit_responses_orphaned;
    return;
  }
  it->second->answer_submit(submit.customer_sequence, st, st == status::ESME_ROK ? view(submit.id) : "");
}

void Relay::submit_answered(std::unique_ptr<Submit> submit, uint32_t st, std::string_view operator_id) {
  UpstreamPool& pool = pools_[size_t(submit->upstream)];
  if (st == status::ESME_ROK) {
    ++counters().submits_relayed;
    int64_t expires = submit->receipt_expires_s ? submit->receipt_expires_s
                                                : wall_ms() / 1000 + config_.limits.receipt_map_ttl_s;
    if (auto key = canonical_operator_id(operator_id, pool.config->submit_id_format))
      receipts_.remember(pool.config->name, *key, *submit->account, view(submit->id), expires, now_ms());
    else
      log::warn_limited("upstream {} gave message id {} which is not {}; its receipts will not map",
                 pool.config->name, json_quoted(operator_id), "in the configured format");
  } else if (operator_id.empty() && (st == status::ESME_RSYSERR)) {
    ++counters().submits_temporary_error;
  } else {
    ++counters().submits_operator_error;
  }
  audit_answer(*submit, st, operator_id);
  answer(*submit, st);
  drain(pool);
}

// ---- deliver_sm: operator to customer ----

void Relay::operator_delivered(UpstreamSession& link, uint32_t sequence, smpp::ShortMessage sm) {
  if (sm.is_delivery_receipt()) return relay_receipt(link, sequence, std::move(sm));
  relay_mo(link, sequence, std::move(sm));
}

void Relay::relay_receipt(UpstreamSession& link, uint32_t sequence, smpp::ShortMessage sm) {
  ++counters().receipts_received;
  const UpstreamConfig* config = pools_[size_t(link.upstream())].config;
  std::string operator_id;
  if (const smpp::Tlv* t = sm.find(smpp::tag::receipted_message_id)) operator_id = t->value.substr(0, t->value.find('\0'));
  else operator_id = std::string(receipt_text_id(sm.short_message));
  auto key = canonical_operator_id(operator_id, config->receipt_id_format);
  if (!key) {
    ++counters().receipts_unmatched;
    log::warn_limited("receipt from {} with unreadable id {}", config->name, json_quoted(operator_id));
    return link.acknowledge_deliver(sequence, status::ESME_ROK);
  }
  uint64_t link_id = link.id();
  auto* held = new smpp::ShortMessage(std::move(sm));
  receipts_.find(config->name, *key, now_ms(), [this, link_id, sequence, held, upstream = config->name, key = *key,
                                                operator_id](ReceiptMap::Found found) {
    std::unique_ptr<smpp::ShortMessage> receipt(held);
    auto reply = [&](uint32_t st) {
      if (auto it = links_.find(link_id); it != links_.end()) it->second->acknowledge_deliver(sequence, st);
    };
    switch (found.outcome) {
      case ReceiptMap::Outcome::mapped: break;
      case ReceiptMap::Outcome::store_down: ++counters().receipts_store_down; return reply(status::ESME_RX_T_APPN);
      case ReceiptMap::Outcome::retry: return reply(status::ESME_RX_T_APPN);  // its mapping may be on its way
      case ReceiptMap::Outcome::delivered: ++counters().receipts_duplicate; return reply(status::ESME_ROK);
      case ReceiptMap::Outcome::drop:
        ++counters().receipts_unmatched;
        log::warn_limited("receipt from {} for unknown message id {} dropped after {} s of retries", upstream,
                   json_quoted(operator_id), config_.limits.unknown_receipt_retry_s);
        return reply(status::ESME_ROK);
    }
    const smpp::Tlv* state = receipt->find(smpp::tag::message_state);
    std::optional<uint8_t> message_state;
    if (state && !state->value.empty()) message_state = uint8_t(state->value[0]);
    auto d = std::make_unique<Delivery>();
    d->final_receipt = receipt_is_final(message_state, receipt->short_message);
    receipt->set(smpp::tag::receipted_message_id, found.our_id + '\0');
    receipt->short_message = replace_receipt_text_id(receipt->short_message, found.our_id);
    if (receipt->short_message.size() > 254) receipt->short_message.resize(254);
    d->account = std::move(found.account);
    d->receipt = true;
    d->key = fmt::format("r:{}:{}", found.our_id, view(ids_.next()));  // one message can have several receipts
    d->upstream_link = link_id;
    d->upstream_sequence = sequence;
    d->upstream = upstream;
    d->operator_id = key;
    smpp::encode_short_message(d->pdu, smpp::Command::deliver_sm, kSequenceSetWhenSent, *receipt);
    route_delivery(std::move(d));
  });
}

void Relay::relay_mo(UpstreamSession& link, uint32_t sequence, smpp::ShortMessage sm) {
  ++counters().mo_received;
  std::string number = policy::normalize_msisdn(sm.destination_addr).value_or(sm.destination_addr);
  auto owner = config_.mo_owner.find(number);
  if (owner == config_.mo_owner.end()) {
    ++counters().mo_unroutable;
    log::warn_limited("MO to {} which no account owns", json_quoted(sm.destination_addr));
    return link.acknowledge_deliver(sequence, status::ESME_RINVDSTADR);
  }
  see_opt_out_word(owner->second, sm);
  auto d = std::make_unique<Delivery>();
  d->account = owner->second;
  d->key = fmt::format("m:{}", view(ids_.next()));
  d->upstream_link = link.id();
  d->upstream_sequence = sequence;
  smpp::encode_short_message(d->pdu, smpp::Command::deliver_sm, kSequenceSetWhenSent, sm);
  route_delivery(std::move(d));
}

// An MO whose whole text is a stop or start word changes the sender's subscription to the
// account at once (REGULATIONS 5), and the number gets a confirmation. The MO itself still
// reaches the customer.
void Relay::see_opt_out_word(const std::string& account, const smpp::ShortMessage& mo) {
  if (!policy_->enforcing() || message_text(mo, config_.text, text_) != TextResult::ok) return;
  policy::OptOutWord word = policy_->opt_out_word(text_);
  auto number = policy::normalize_msisdn(mo.source_addr);
  if (word == policy::OptOutWord::none || !number) return;
  bool stop = word == policy::OptOutWord::stop;
  ++(stop ? counters().opt_outs : counters().opt_ins);
  store_->set_opted_out(account, *number, stop, [this, account, number = *number, word](bool ok) {
    if (!ok) {
      log::error("could not record the opt-{} of {} from account {}: state store down",
                 word == policy::OptOutWord::stop ? "out" : "in", AuditLog::mask(number), account);
      return;
    }
    audit_.event(wall_ms(), word == policy::OptOutWord::stop ? "opt_out" : "opt_in",
                 {{"account", account}, {"recipient", audit_.masked(number)}});
    send_confirmation(account, number, word);
  });
}

void Relay::send_confirmation(const std::string& account, const std::string& number, policy::OptOutWord word) {
  std::string sender, text;
  auto acct = accounts_.find(account);
  if (acct == accounts_.end() || !policy_->confirmation(account, word, sender, text)) {
    log::warn_limited("account {} has no confirmation_sender: no opt-out confirmation sent", account);
    return;
  }
  smpp::ShortMessage sm;
  sm.source_addr = sender;
  sm.source_addr_ton = std::all_of(sender.begin(), sender.end(), ::isdigit) ? 0 : 5;  // alphanumeric sender
  sm.dest_addr_ton = 1;
  sm.dest_addr_npi = 1;
  sm.destination_addr = number;
  sm.data_coding = 8;
  std::string ucs2;
  smpp::encode_ucs2(text, ucs2);
  if (ucs2.size() <= 140) sm.short_message = std::move(ucs2);
  else sm.tlvs.push_back(smpp::Tlv{smpp::tag::message_payload, std::move(ucs2)});
  auto submit = std::make_unique<Submit>();
  submit->internal = true;
  submit->account = &acct->second.name;
  submit->destination = number;
  submit->sender = sender;
  submit->policy = policy_;
  smpp::encode_short_message(submit->pdu, smpp::Command::submit_sm, kSequenceSetWhenSent, sm);
  ++counters().confirmations_sent;
  route(std::move(submit));
}

// A receipt or MO for a customer. It is written to the state store at once and, when a
// receiver of the account has room, sent to it at the same time: the operator is answered as
// soon as either the store kept it or the customer acknowledged it, so that a slow customer
// never holds the operator's window. What the customer does not acknowledge stays kept and is
// sent again later (fetch_kept_deliveries).
void Relay::route_delivery(std::unique_ptr<Delivery> delivery) {
  auto it = accounts_.find(delivery->account);
  if (it == accounts_.end()) {  // the account left the config since the message was sent
    if (auto link = links_.find(delivery->upstream_link); link != links_.end())
      link->second->acknowledge_deliver(delivery->upstream_sequence, status::ESME_ROK);
    return;
  }
  Account& account = it->second;
  const std::string& key = delivery->key;
  if (delivery->upstream_link) operator_waits_[key] = {delivery->upstream_link, delivery->upstream_sequence, false};
  delivery->kept = true;
  store_->keep_delivery(account.name, key, delivery->pdu, config_.limits.pending_receipts_max,
                        config_.limits.pending_receipts_ttl_s,
                        [this, name = account.name, key, final_receipt = delivery->final_receipt,
                         upstream = delivery->upstream, operator_id = delivery->operator_id](bool ok) {
                          if (ok && final_receipt) receipts_.delivered(upstream, operator_id);
                          delivery_kept(name, key, ok);
                        });
  if (CustomerSession* session = receiver_with_room(account)) {
    account.kept_in_flight.insert(key);
    session->deliver(std::move(delivery));
  }
}

// Round robin over the account's receivers with room (one backing off has none).
CustomerSession* Relay::receiver_with_room(Account& account) {
  for (size_t i = 0; i < account.receivers.size(); ++i) {
    CustomerSession* session = account.receivers[account.next_receiver++ % account.receivers.size()];
    if (session->has_delivery_room()) return session;
  }
  return nullptr;
}

void Relay::delivery_kept(const std::string& account, const std::string& key, bool ok) {
  if (ok) ++counters().deliveries_stored;
  else ++counters().deliveries_store_failed;
  auto a = accounts_.find(account);
  bool at_customer = a != accounts_.end() && a->second.kept_in_flight.count(key);
  if (ok) {
    if (a != accounts_.end() && !at_customer) a->second.next_kept_fetch_ms = std::min(a->second.next_kept_fetch_ms, now_ms());
    return answer_operator(key, status::ESME_ROK);
  }
  // Not kept (store down, or the account's kept deliveries full): while a customer has it, its
  // acknowledgement decides; otherwise a temporary error, so that the operator sends it again.
  if (at_customer) {
    if (auto w = operator_waits_.find(key); w != operator_waits_.end()) w->second.keep_failed = true;
    return;
  }
  answer_operator(key, status::ESME_RX_T_APPN);
}

void Relay::answer_operator(const std::string& key, uint32_t st) {
  auto w = operator_waits_.find(key);
  if (w == operator_waits_.end()) return;  // answered already
  if (auto link = links_.find(w->second.link); link != links_.end())
    link->second->acknowledge_deliver(w->second.sequence, st);
  operator_waits_.erase(w);
}

// The customer has it: it leaves the store, and a final receipt's mapping goes too.
void Relay::delivery_handed_on(const Delivery& delivery) {
  if (delivery.kept) store_->forget_delivery(delivery.account, delivery.key);
  if (delivery.final_receipt) receipts_.delivered(delivery.upstream, delivery.operator_id);
}

void Relay::delivery_acknowledged(std::unique_ptr<Delivery> delivery, uint32_t) {
  if (delivery->receipt) ++counters().receipts_relayed;
  delivery_handed_on(*delivery);
  answer_operator(delivery->key, status::ESME_ROK);
  if (auto it = accounts_.find(delivery->account); it != accounts_.end()) {
    Account& account = it->second;
    account.kept_in_flight.erase(delivery->key);
    if (account.kept_fetching) account.handed_on_while_fetching.insert(delivery->key);
    if (account.kept_more) {  // room again, and more waiting: fetch now, not at the next tick
      account.next_kept_fetch_ms = 0;
      fetch_kept_deliveries(account, now_ms());
    }
  }
}

void Relay::delivery_undelivered(std::unique_ptr<Delivery> delivery, bool timed_out) {
  if (timed_out) ++counters().deliveries_timed_out;
  auto it = accounts_.find(delivery->account);
  if (it != accounts_.end()) {
    Account& account = it->second;
    account.kept_in_flight.erase(delivery->key);
    // Kept: another receiver with room may take it now (the session backs off by itself).
    account.next_kept_fetch_ms = 0;
    account.kept_more = true;
  }
  auto w = operator_waits_.find(delivery->key);
  if (w != operator_waits_.end() && w->second.keep_failed) answer_operator(delivery->key, status::ESME_RX_T_APPN);
  // Otherwise it is kept (or being kept): fetch_kept_deliveries sends it again.
}

// Kept deliveries go to the account's bound receivers: at bind, and again while any remain.
void Relay::fetch_kept_deliveries(Account& account, uint64_t now) {
  constexpr uint64_t kIdleFetchMs = 5000;  // another instance may have kept some for us
  if (account.kept_fetching || account.receivers.empty() || now < account.next_kept_fetch_ms || !store_->up()) return;
  int room = 0;
  for (CustomerSession* s : account.receivers) room += s->delivery_room();
  if (room == 0) return;
  account.kept_fetching = true;
  account.next_kept_fetch_ms = now + kIdleFetchMs;
  store_->kept_deliveries(account.name, room + int(account.kept_in_flight.size()),
                          [this, name = account.name](bool ok, std::vector<std::pair<std::string, std::string>> items) {
    auto it = accounts_.find(name);
    if (it == accounts_.end()) return;
    Account& acct = it->second;
    acct.kept_fetching = false;
    std::unordered_set<std::string> handed_on = std::move(acct.handed_on_while_fetching);
    acct.handed_on_while_fetching.clear();
    if (!ok) return;
    int sent = 0;
    for (auto& [key, pdu] : items) {
      if (acct.kept_in_flight.count(key) || handed_on.count(key)) continue;  // at a customer, or done
      CustomerSession* session = receiver_with_room(acct);
      if (!session) break;
      auto d = std::make_unique<Delivery>();
      d->account = name;
      d->key = key;
      d->pdu = std::move(pdu);
      d->kept = true;
      d->receipt = !key.starts_with("m:");
      acct.kept_in_flight.insert(key);
      session->deliver(std::move(d));
      ++sent;
    }
    acct.kept_more = sent > 0;  // more may wait: fetched again as these are acknowledged, or next tick
    if (sent) acct.next_kept_fetch_ms = now_ms();
  });
}

// ---- operator links ----

void Relay::start_link(int upstream, int slot) {
  if (shutting_down_) return;
  uint64_t id = next_session_id_++;
  auto session = std::make_unique<UpstreamSession>(*this, config_.upstreams[size_t(upstream)], upstream, slot, id);
  pools_[size_t(upstream)].links[size_t(slot)]->session = session.get();
  UpstreamSession* raw = session.get();
  links_.emplace(id, std::move(session));
  raw->connect();
}

void Relay::link_bound(UpstreamSession& link) {
  ++counters().upstream_connects;
  for (auto& pool : pools_)
    for (auto& l : pool.links)
      if (l->session == &link) {
        l->failures = 0;
        drain(pool);
      }
}

void Relay::link_closed(UpstreamSession& link, bool was_bound) {
  ++counters().upstream_link_failures;
  for (size_t u = 0; u < pools_.size(); ++u) {
    UpstreamPool& pool = pools_[u];
    for (size_t s = 0; s < pool.links.size(); ++s) {
      if (pool.links[s]->session != &link) continue;
      pool.links[s]->session = nullptr;
      if (!was_bound) ++pool.links[s]->failures;
      bool any_bound = false;
      for (auto& l : pool.links) any_bound = any_bound || (l->session && l->session->bound());
      if (!any_bound) fail_all_waiting(pool, status::ESME_RSYSERR);
      schedule_reconnect(int(u), int(s));
    }
  }
  links_.erase(link.id());
}

void Relay::schedule_reconnect(int upstream, int slot) {
  if (shutting_down_) return;
  auto& link = *pools_[size_t(upstream)].links[size_t(slot)];
  const UpstreamConfig& c = config_.upstreams[size_t(upstream)];
  // Exponential backoff with jitter, so that three links to a recovering SMSC do not knock together.
  uint64_t delay = uint64_t(c.reconnect_min_ms) << std::min(link.failures, 10);
  delay = std::min<uint64_t>(delay, uint64_t(c.reconnect_max_ms));
  delay = delay / 2 + uint64_t(std::rand()) % (delay / 2 + 1);
  uv_timer_start(&link.reconnect, [](uv_timer_t* t) {
    auto* l = static_cast<UpstreamPool::Link*>(t->data);
    l->relay->start_link(l->upstream, l->slot);
  }, delay, 0);
}

void Relay::fail_all_waiting(UpstreamPool& pool, uint32_t st) {
  while (!pool.waiting.empty()) {
    auto submit = std::move(pool.waiting.front());
    pool.waiting.pop_front();
    ++counters().submits_temporary_error;
    answer(*submit, st);
  }
}

bool Relay::reload() {
  std::vector<ConfigError> errors;
  auto fresh = load_config(config_.path, errors);
  if (!fresh) {
    ++counters().policy_reload_failures;
    for (const auto& e : errors) log::error("{}", e.to_string());
    log::error("reload refused: {} errors; policy {} stays", errors.size(), policy_->version());
    audit_.event(wall_ms(), "reload", {{"ok", false}, {"errors", errors.size()}, {"policy", policy_->version()}});
    return false;
  }
  // What the running process cannot change: reported, not half-applied.
  std::vector<std::string> restart;
  if (fresh->smpp_listen != config_.smpp_listen || fresh->stats_listen != config_.stats_listen) restart.push_back("listen");
  if (fresh->redis_host != config_.redis_host || fresh->redis_port != config_.redis_port || fresh->redis_db != config_.redis_db)
    restart.push_back("state");
  if (!(fresh->limits == config_.limits)) restart.push_back("limits");
  if (!(fresh->upstreams == config_.upstreams)) restart.push_back("upstreams");
  if (!(fresh->routes == config_.routes)) restart.push_back("routes");
  for (const auto& what : restart) {
    ++counters().settings_needing_restart;
    log::warn("reload: '{}' changed and needs a restart; the running values stay", what);
  }
  for (auto& [name, account] : accounts_)
    if (!fresh->accounts.count(name)) account.config = nullptr;  // bound sessions stay; new binds are refused
  for (const auto& [name, account] : fresh->accounts) {
    accounts_[name].name = name;
    accounts_[name].config = account;
  }
  log::set_level(fresh->log_level);
  config_.accounts = fresh->accounts;
  config_.mo_owner = fresh->mo_owner;
  config_.policy = fresh->policy;
  if (fresh->audit_file != config_.audit_file || fresh->audit_mask_numbers != config_.audit_mask_numbers ||
      fresh->audit_visible_digits != config_.audit_visible_digits) {
    config_.audit_file = fresh->audit_file;
    config_.audit_mask_numbers = fresh->audit_mask_numbers;
    config_.audit_visible_digits = fresh->audit_visible_digits;
    audit_.open(config_.audit_file, config_.audit_mask_numbers, config_.audit_visible_digits);
  }
  std::string old_version = policy_->version();
  policy_ = fresh->policy;  // one step: messages in flight keep the table they were decided by
  ++counters().policy_reloads;
  log::info("reloaded {}: policy {} -> {}", config_.path, old_version, policy_->version());
  audit_.event(wall_ms(), "reload", {{"ok", true}, {"policy", policy_->version()}, {"previous", old_version}});
  return true;
}

void Relay::reopen_audit_log() {
  if (!audit_.reopen()) log::error("cannot reopen the audit log {}: {}", config_.audit_file, std::strerror(errno));
}

void Relay::refresh_ported_numbers() {
  if (ported_loading_) return;
  ported_loading_ = true;
  store_->ported_version([this](bool ok, std::optional<std::string> version) {
    if (!ok || version == ported_version_) {
      ported_loading_ = false;
      return;
    }
    store_->ported_numbers([this, version](bool ok, std::vector<std::pair<std::string, std::string>> items) {
      ported_loading_ = false;
      if (!ok) return;
      ported_.clear();
      for (auto& [number, upstream] : items) ported_.emplace(std::move(number), std::move(upstream));
      ported_version_ = version;
      log::info("{} ported numbers loaded (version {})", ported_.size(), version.value_or("0"));
    });
  });
}

// Usage is written once per tick; a batch stays here until the store confirmed it, and is sent
// again under its own number, which the store counts once. Nothing new goes out while a batch
// is awaiting its answer, so each instance's numbers reach the store in order (the last flush,
// at shutdown, goes out regardless: there is no later one to wait for).
void Relay::flush_usage(bool last) {
  for (const auto& [n, batch] : usage_unconfirmed_)
    if (batch.sending && !last) return;
  if (!store_->up()) return;  // tallies wait here, merged, until it is back
  for (auto& [n, batch] : usage_unconfirmed_) {
    if (batch.sending) continue;
    ++counters().usage_batches_retried;
    send_usage(n);
  }
  for (const auto& [key, tally] : usage_) {
    uint64_t n = ++usage_batches_;
    usage_unconfirmed_[n] = UsageBatch{std::get<0>(key), std::get<1>(key), std::get<2>(key), tally.first, tally.second, false};
    send_usage(n);
  }
  usage_.clear();
}

void Relay::send_usage(uint64_t n) {
  UsageBatch& b = usage_unconfirmed_.at(n);
  b.sending = true;
  store_->count_usage(b.account, b.day, policy::name(b.message_class), b.messages, b.parts, owner_, n, [this, n](bool ok) {
    auto it = usage_unconfirmed_.find(n);
    if (it == usage_unconfirmed_.end()) return;
    if (ok) usage_unconfirmed_.erase(it);
    else it->second.sending = false;
  });
}

void Relay::on_tick() {
  uint64_t now = now_ms();
  audit_.flush();
  flush_usage();
  receipts_.on_tick(now);
  store_->sweep_receipts();
  if (!shutting_down_)
    for (auto& [name, account] : accounts_) fetch_kept_deliveries(account, now);
  expire_held(now);
  if (ticks_ % 2 == 0) renew_held_claims();
  if (store_->up() && !shutting_down_ && now - started_ms_ > uint64_t(keys::kClaimMs) + 500) restore_held();
  if (ticks_++ % 4 == 0 && !shutting_down_) refresh_ported_numbers();
  for (auto& pool : pools_)
    while (!pool.waiting.empty() && pool.waiting.front()->deadline_ms <= now) {
      auto submit = std::move(pool.waiting.front());
      pool.waiting.pop_front();
      ++counters().submits_temporary_error;
      answer(*submit, status::ESME_RTHROTTLED);
    }
  if (shutting_down_) shutdown_step(now);
}

// ---- the NOC's view and shutdown ----

Snapshot Relay::snapshot() const {
  Snapshot s;
  s.version = version_;
  s.uptime_s = (uv_now(loop_) - started_ms_) / 1000;
  for (const auto& [name, account] : accounts_) {
    int bound = 0;
    for (const auto& [id, session] : customers_)
      if (session->account() == &account && session->state() == CustomerSession::State::bound) ++bound;
    s.sessions[name] = bound;
  }
  uint64_t awaiting = 0;
  for (const auto& [id, session] : customers_) awaiting += session->deliveries_awaiting_ack();
  s.deliveries_awaiting_ack = awaiting;
  for (const auto& pool : pools_) {
    UpstreamSnapshot u;
    u.name = pool.config->name;
    u.links_configured = int(pool.links.size());
    for (const auto& l : pool.links)
      if (l->session) {
        u.links_bound += l->session->bound() ? 1 : 0;
        u.in_flight += l->session->in_flight();
      }
    u.waiting = pool.waiting.size();
    s.upstreams.push_back(u);
  }
  s.state_store = store_->describe();
  s.ported_numbers = ported_.size();
  s.long_messages_held = held_.size();
  s.receipt_mappings_held = receipts_.held();
  s.receipt_mappings_unconfirmed = receipts_.unconfirmed();
  s.usage_batches_unconfirmed = usage_unconfirmed_.size();
  s.ported_version = ported_version_.value_or("0");
  return s;
}

bool Relay::finished_draining() const {
  for (const auto& [id, c] : customers_)
    if (c->outstanding() > 0) return false;  // deciding, waiting for the store, or at an operator
  for (const auto& pool : pools_) {
    if (!pool.waiting.empty()) return false;
    for (const auto& l : pool.links)
      if (l->session && l->session->in_flight()) return false;
  }
  return true;
}

// SIGTERM, in steps driven by the tick (each bounded, so that the process always exits):
//   draining   customers are not read; what is in flight is answered (at most kShutdownGraceMs)
//   unbinding  unbind to every operator link, then every bound customer (whose socket is read
//              again: submits found there get ESME_RSYSERR); each unbind_resp closes its session
//   closing    after kUnbindWaitMs, peers that did not answer are closed once their output is
//              flushed, or at once after kLastFlushMs more; then the state store and the timers.
void Relay::shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_started_ms_ = now_ms();
  log::info("shutting down: answering what is in flight (at most {} ms), then unbinding", kShutdownGraceMs);
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  for (auto& pool : pools_) fail_all_waiting(pool, status::ESME_RSYSERR);
  if (finished_draining()) unbind_everyone(now_ms());
}

void Relay::shutdown_step(uint64_t now) {
  switch (shutdown_step_) {
    case ShutdownStep::draining:
      if (finished_draining() || now - shutdown_started_ms_ >= uint64_t(kShutdownGraceMs)) unbind_everyone(now);
      return;
    case ShutdownStep::unbinding:
    case ShutdownStep::closing:
      if (links_.empty() && customers_.empty()) return finish_shutdown();
      if (shutdown_step_ == ShutdownStep::unbinding && now - unbind_started_ms_ >= kUnbindWaitMs) {
        shutdown_step_ = ShutdownStep::closing;
        close_unanswered(false);
      } else if (now - unbind_started_ms_ >= kUnbindWaitMs + kLastFlushMs) {
        close_unanswered(true);
      }
      return;
    case ShutdownStep::done: return;
  }
}

void Relay::unbind_everyone(uint64_t now) {
  if (shutdown_step_ != ShutdownStep::draining) return;
  shutdown_step_ = ShutdownStep::unbinding;
  unbind_started_ms_ = now;
  for (auto& pool : pools_) fail_all_waiting(pool, status::ESME_RSYSERR);
  // Links first: what they still hold is answered now, ahead of its customer's unbind.
  std::vector<UpstreamSession*> links;
  for (auto& [id, link] : links_) links.push_back(link.get());
  for (auto* link : links) link->unbind();
  std::vector<CustomerSession*> customers;
  for (auto& [id, c] : customers_) customers.push_back(c.get());
  for (auto* c : customers) c->unbind();
  log::info("shutting down: unbind sent to {} operator links and {} customer sessions", links.size(),
             customers.size());
}

// Peers that did not answer the unbind: closed once what is queued to them is written; at
// the last step (hard), at once.
void Relay::close_unanswered(bool hard) {
  std::vector<Connection*> peers;
  for (auto& [id, link] : links_) peers.push_back(link.get());
  for (auto& [id, c] : customers_) peers.push_back(c.get());
  for (auto* peer : peers) {
    if (hard) {
      peer->close("shutting down: its output could not be flushed");
      continue;
    }
    if (peer->closing()) continue;
    ++counters().unbinds_unanswered;
    peer->close_after_flush("shutting down: no unbind_resp in time");
  }
}

void Relay::finish_shutdown() {
  shutdown_step_ = ShutdownStep::done;
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
  for (auto& pool : pools_)
    for (auto& l : pool.links) uv_close(reinterpret_cast<uv_handle_t*>(&l->reconnect), nullptr);
  flush_usage(true);
  store_->close();
}

}  // namespace proxy
