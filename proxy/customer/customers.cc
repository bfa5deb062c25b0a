// The customer side (proxy/customer/customers.h): connections, binds and the lockout of guessers.
#include "proxy/customer/customers.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "proxy/log.h"
#include "proxy/net/tls.h"

namespace proxy {

namespace status = smpp::status;

Customers::Customers(Context& ctx, Accounts& accounts)
    : ctx_(ctx), accounts_(accounts), limits_(customer_limits(ctx.config.limits)),
      address_guard_(ctx.config.limits.bind_failures_max, ctx.config.limits.bind_failures_window_s,
                     ctx.config.limits.bind_failures_block_s),
      account_guard_(ctx.config.limits.bind_failures_account_max, ctx.config.limits.bind_failures_window_s,
                     ctx.config.limits.bind_failures_block_s),
      verifier_(ctx.loop, ctx.counters().argon2_runs) {
  wiring_.binds = this;
  wiring_.shutting_down = &ctx_.shutting_down;
  wiring_.store_behind = &ctx_.store_behind;
}

void Customers::wire(SubmitIntake* submits, DeliveryReturns* deliveries, ReceiverEvents* receivers) {
  wiring_.submits = submits;
  wiring_.deliveries = deliveries;
  receivers_ = receivers;
}

namespace {
// Empty when the session may bind to `account` as far as TLS goes; else why not.
std::string tls_client_refusal(const CustomerSession& session, const AccountConfig& account) {
  if (!account.tls_client_required) return {};
  const TlsEngine* tls = session.tls();
  if (!tls) return "the account binds only over TLS (listen.smpps)";
  const std::string& print = tls->peer_fingerprint();
  if (print.empty()) return "the account requires a client certificate and none was sent";
  if (account.tls_client_fingerprints.empty())
    return tls->peer_verified() ? "" : "the client certificate did not verify against tls.client_ca";
  const auto& allowed = account.tls_client_fingerprints;
  if (std::find(allowed.begin(), allowed.end(), print) == allowed.end())
    return fmt::format("client certificate {} is not one of the account's tls_client.fingerprint_sha256", print);
  return {};
}
}  // namespace

void Customers::accept_tls(uv_stream_t* listener, std::shared_ptr<const TlsServerContext> context) {
  ++ctx_.counters().tls_connections;
  accept(listener, std::move(context));
}

void Customers::accept(uv_stream_t* listener, std::shared_ptr<const TlsServerContext> tls) {
  uint64_t id = ctx_.next_session_id++;
  auto session = std::make_unique<CustomerSession>(ctx_.loop, id, limits_, ctx_.counters(), wiring_);
  if (tls) session->start_tls(std::move(tls));
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(session->tcp())) != 0) {
    session->close("accept failed");
    sessions_.emplace(id, std::move(session));  // freed by its close callback
    return;
  }
  ++ctx_.counters().customer_connections;
  session->accepted();
  CustomerSession& s = *session;
  sessions_.emplace(id, std::move(session));
  // From a balancer the customer's address comes in its PROXY header: admitted then.
  bool balancer = from_balancer(s);
  if (!balancer) admit(s);
  if (!s.closing()) s.start(balancer);
}

bool Customers::from_balancer(const CustomerSession& session) const {
  for (const auto& cidr : ctx_.config.proxy_from)
    if (cidr.contains(session.remote_sockaddr())) return true;
  return false;
}

CustomerSession* Customers::find_customer(uint64_t session_id) {
  auto it = sessions_.find(session_id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

bool Customers::answer_submit(uint64_t session_id, uint32_t sequence, uint32_t st, std::string_view message_id) {
  CustomerSession* session = find_customer(session_id);
  if (!session) return false;
  session->answer_submit(sequence, st, message_id);
  return true;
}

// Accepted, then closed at once when over a cap (each refusal counted): what one address, or
// everyone together, can hold open stays bounded. Counted open until session_closed().
void Customers::admit(CustomerSession& session) {
  const Limits& l = ctx_.config.limits;
  int& from_address = connections_per_address_[session.remote_address()];
  bool over_total = sessions_.size() > size_t(l.connections_max);  // this one is among them
  bool over_address = from_address >= l.connections_per_address_max;
  ++from_address;
  session.set_admitted();
  if (!over_total && !over_address) return;
  ++(over_address ? ctx_.counters().connections_refused_per_address : ctx_.counters().connections_refused_total);
  session.close(over_address ? fmt::format("{} connections from this address already", l.connections_per_address_max)
                             : fmt::format("{} customer connections already", l.connections_max));
}

// A guess costs an Argon2 check only while both its address and the account are under their
// failure limits, checks in flight included; an account over its limit still takes a password that
// verified recently (no Argon2), so a storm of guesses blocks the attacker, not the real customer.
// A bind slot is taken only once the password verified.
void Customers::authorize(CustomerSession& session, const smpp::Bind& bind, uint32_t sequence) {
  Counters& counters = ctx_.counters();
  const std::string& address = session.remote_address();
  uint64_t now = ctx_.now_ms();
  auto refuse = [&](uint64_t& reason, uint32_t st, std::string_view why) {
    refuse_bind(session, bind.system_id, reason, st, why, sequence);
  };
  if (ctx_.shutting_down || ctx_.customers_leaving) return refuse(counters.binds_refused_shutting_down, status::ESME_RBINDFAIL, "shutting down");
  if (bans_.banned(BanKind::address, address_key(address), now))
    return refuse(counters.binds_refused_banned, status::ESME_RBINDFAIL, "the address is banned");
  if (address_guard_.blocked(address, now))
    return refuse(counters.binds_blocked, status::ESME_RBINDFAIL, "too many failed binds from this address");
  auto it = accounts_.find(bind.system_id);
  if (it == accounts_.end() || !it->second.config) {
    address_guard_.failed(address, now);
    return refuse(counters.binds_refused_unknown_system_id, status::ESME_RINVSYSID, "unknown system_id");
  }
  Account& account = it->second;
  if (bans_.banned(BanKind::account, account.name, now))
    return refuse(counters.binds_refused_banned, status::ESME_RBINDFAIL, "the account is banned");
  bool allowed = false;  // the customer's address, which a balancer's PROXY header may have named
  for (const auto& cidr : account.config->allow_ips) allowed = allowed || cidr.contains(session.remote_sockaddr());
  if (!allowed) {
    address_guard_.failed(address, now);
    return refuse(counters.binds_refused_address_not_allowed, status::ESME_RBINDFAIL, "address not in allow_ips");
  }
  if (std::string why = tls_client_refusal(session, *account.config); !why.empty())
    return refuse(counters.binds_refused_tls_client, status::ESME_RBINDFAIL, why);
  if (account.binds >= account.config->max_binds)  // checked again once the password verified
    return refuse(counters.binds_refused_bind_limit, status::ESME_RBINDFAIL, fmt::format("account already has {} binds", account.binds));
  if (verifier_.remembered(account.name, account.config->password_hash, bind.password)) return accept_bind(session, account, sequence);
  // An account under attack is not locked against its own customer: an address with nothing
  // against it (no failure, no check running) still gets its password checked, one at a time;
  // every address that already guessed wrong is refused without a check.
  if (account_guard_.blocked(account.name, now) && !address_guard_.clean(address, now))
    return refuse(counters.binds_refused_account_locked, status::ESME_RBINDFAIL, "too many failed binds for this account");

  address_guard_.started(address);
  account_guard_.started(account.name);
  verifier_.verify(account.name, account.config->password_hash, bind.password,
                   [this, id = session.id(), address = address, name = account.name, sequence](bool ok) {
                     password_checked(id, address, name, sequence, ok);
                   });
}

// Counted whether or not the session is still there: closing the connection must not hide a guess.
void Customers::password_checked(uint64_t session_id, const std::string& address, const std::string& account_name,
                                 uint32_t sequence, bool ok) {
  Counters& counters = ctx_.counters();
  address_guard_.finished(address, ok, ctx_.now_ms());
  account_guard_.finished(account_name, ok, ctx_.now_ms());
  CustomerSession* session = find_customer(session_id);
  bool gone = !session || session->closing();
  if (!ok && gone) {
    ++counters.binds_refused;
    ++counters.binds_refused_wrong_password;
    log::warn_limited("bind refused for system_id {} from {}: wrong password (the connection had closed)",
                      json_quoted(account_name), address);
  }
  if (gone) return;
  if (!ok)
    return refuse_bind(*session, account_name, counters.binds_refused_wrong_password, status::ESME_RINVPASWD, "wrong password", sequence);
  Account& account = accounts_[account_name];
  if (!account.config)  // removed by a reload while Argon2 ran
    return refuse_bind(*session, account_name, counters.binds_refused_unknown_system_id, status::ESME_RINVSYSID,
                       "unknown system_id", sequence);
  accept_bind(*session, account, sequence);
}

void Customers::accept_bind(CustomerSession& session, Account& account, uint32_t sequence) {
  Counters& counters = ctx_.counters();
  if (ctx_.shutting_down || ctx_.customers_leaving)
    return refuse_bind(session, account.name, counters.binds_refused_shutting_down, status::ESME_RBINDFAIL, "shutting down", sequence);
  if (banned(session, account.name))  // a ban that came while the password was checked
    return refuse_bind(session, account.name, counters.binds_refused_banned, status::ESME_RBINDFAIL, "banned", sequence);
  if (account.binds >= account.config->max_binds)
    return refuse_bind(session, account.name, counters.binds_refused_bind_limit, status::ESME_RBINDFAIL,
                       fmt::format("account already has {} binds", account.binds), sequence);
  ++account.binds;
  ++counters.binds_ok;
  session.bind_decided(&account, status::ESME_ROK, sequence);
  log::info("{} bound", session.describe());
  ctx_.audit.event(ctx_.wall_ms(), "bind", {{"account", account.name}, {"session", session.id()}, {"from", session.peer()},
                                            {"bind", session.bind_type()}});
  if (session.can_receive()) {
    account.receivers.push_back(&session);
    receivers_->receiver_bound(account);
  }
}

void Customers::refuse_bind(CustomerSession& session, std::string_view system_id, uint64_t& reason, uint32_t st,
                            std::string_view why, uint32_t sequence) {
  ++ctx_.counters().binds_refused;
  ++reason;
  log::warn_limited("bind refused for system_id {} from {}: {}", json_quoted(system_id), session.peer(), why);
  session.bind_decided(nullptr, st, sequence);
}

void Customers::session_closed(CustomerSession& session) {
  if (auto it = connections_per_address_.find(session.remote_address()); session.admitted() && it != connections_per_address_.end())
    if (--it->second <= 0) connections_per_address_.erase(it);
  if (Account* account = session.account()) {
    --account->binds;
    std::erase(account->receivers, static_cast<Receiver*>(&session));
  }
  sessions_.erase(session.id());
}

// ---- the admin API's controls ----

bool Customers::banned(const CustomerSession& session, const std::string& account) const {
  uint64_t now = ctx_.now_ms();
  return bans_.banned(BanKind::address, address_key(session.remote_address()), now) || bans_.banned(BanKind::account, account, now);
}

std::vector<SessionInfo> Customers::sessions() const {
  std::vector<SessionInfo> out;
  uint64_t now = ctx_.now_ms();
  for (const auto& [id, session] : sessions_) {
    if (!session->account()) continue;  // not bound: nobody yet
    out.push_back({id, session->account()->name, session->peer(), session->bind_type(), now - session->bound_at_ms(),
                   session->outstanding()});
  }
  std::sort(out.begin(), out.end(), [](const SessionInfo& a, const SessionInfo& b) { return a.id < b.id; });
  return out;
}

bool Customers::kick(uint64_t session_id) {
  CustomerSession* session = find_customer(session_id);
  if (!session || session->closing()) return false;
  session->unbind("kicked by an admin");
  return true;
}

std::optional<size_t> Customers::ban(BanKind kind, const std::string& key, uint64_t until_ms) {
  if (!bans_.add(kind, key, until_ms, ctx_.now_ms())) return std::nullopt;
  std::vector<uint64_t> kicked;
  for (const auto& [id, session] : sessions_) {
    std::string of = kind == BanKind::address ? address_key(session->remote_address()) : session->account() ? session->account()->name : "";
    if (of == key && !session->closing()) kicked.push_back(id);
  }
  for (uint64_t id : kicked) kick(id);
  return kicked.size();
}

// ---- the NOC's view and shutdown ----

void Customers::describe(Snapshot& s) const {
  for (const auto& [name, account] : accounts_) s.sessions[name] = 0;
  uint64_t awaiting = 0;
  for (const auto& [id, session] : sessions_) {
    awaiting += session->deliveries_awaiting_ack();
    if (session->account() && session->state() == CustomerSession::State::bound) ++s.sessions[session->account()->name];
  }
  s.deliveries_awaiting_ack = awaiting;
}

bool Customers::idle() const {
  for (const auto& [id, c] : sessions_)
    if (c->outstanding() > 0) return false;  // deciding, waiting for the store, or at an operator
  return true;
}

size_t Customers::unbind_all() {
  std::vector<CustomerSession*> sessions;
  for (auto& [id, c] : sessions_) sessions.push_back(c.get());
  for (auto* c : sessions) c->unbind();
  return sessions.size();
}

void Customers::resume_intake() {
  for (auto& [id, session] : sessions_) session->resume_intake();
}

void Customers::for_each_session(const std::function<void(Connection&)>& fn) {
  std::vector<CustomerSession*> sessions;
  for (auto& [id, c] : sessions_) sessions.push_back(c.get());
  for (auto* c : sessions) fn(*c);
}

}  // namespace proxy
