// The hub (proxy/hub.h). The path of a message, stage by stage (docs/architecture.md):
//
//   customer ─▶ customer/ (accept, bind) ─▶ customer/session (window, decode once)
//            ─▶ submit/ (policy, state store, long messages) ─▶ upstream/ (route, links) ─▶ operator
//   operator ─▶ upstream/session ─▶ deliver/ (receipts mapped back, MOs to their account,
//            kept in the state store) ─▶ customer/session of a receiver ─▶ customer
#include "proxy/hub.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "proxy/log.h"
#include "proxy/stats/server.h"

namespace proxy {

namespace status = smpp::status;

namespace {
constexpr uint64_t kTickMs = 250;
constexpr uint64_t kCustomersLeaveMs = 4000;  // at shutdown, for customers to answer unbind and their submits
constexpr uint64_t kUnbindWaitMs = 2000;  // at shutdown, for each link's unbind_resp
constexpr uint64_t kLastFlushMs = 1000;   // then for what is still queued to peers that did not answer

std::unique_ptr<StateStore> attach_store(Context& ctx) {
  auto store = make_state_store(ctx.loop, ctx.config, ctx.counters());
  ctx.store = store.get();
  return store;
}

// SO_REUSEPORT: several hajib processes can share one port, the kernel spreading the binds;
// the rules they enforce together live in Redis (docs/state.md).
int bind_reuseport(uv_loop_t* loop, const Endpoint& at, uv_tcp_t* listener) {
  sockaddr_storage addr;
  if (int rc = to_sockaddr(at, addr)) return rc;
  uv_tcp_init(loop, listener);
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 || uv_tcp_open(listener, fd) != 0) {
    if (fd >= 0) ::close(fd);
    return UV_EINVAL;
  }
  return uv_tcp_bind(listener, reinterpret_cast<sockaddr*>(&addr), 0);
}

ReceiptMap::Limits receipt_map_limits(const Limits& l) {
  return ReceiptMap::Limits{size_t(l.receipt_map_local_max), uint64_t(l.receipt_map_hold_s) * 1000,
                            uint64_t(l.unknown_receipt_retry_s) * 1000};
}
}  // namespace

Hub::Hub(uv_loop_t* loop, Config config, uint32_t instance, std::string version)
    : ctx_(loop, std::move(config), instance), store_(attach_store(ctx_)),
      receipts_(*store_, ctx_.counters(), receipt_map_limits(ctx_.config.limits)), upstreams_(ctx_),
      customers_(ctx_, accounts_), review_(ctx_), holds_(ctx_, accounts_), submits_(ctx_, accounts_, receipts_),
      deliveries_(ctx_, accounts_, receipts_), volume_(ctx_, accounts_), version_(std::move(version)), started_ms_(uv_now(loop)),
      last_reload_unix_ms_(wall_clock_ms()) {
  for (const auto& [name, account] : ctx_.config.accounts) {
    accounts_[name].name = name;
    accounts_[name].config = account;
  }
  upstreams_.wire(&submits_, &deliveries_);
  customers_.wire(&submits_, &deliveries_, &deliveries_);
  submits_.wire(&customers_, &upstreams_, &deliveries_, &holds_);
  holds_.wire(&submits_);
  holds_.set_ready([this] { return upstreams_.every_operator_bound(); });
  deliveries_.wire(&upstreams_, &submits_);
  submits_.set_review(&review_);
  wire_review();
  bool reviewed = false;
  for (const auto& [name, account] : ctx_.config.accounts) reviewed |= ctx_.policy->reviews(name, policy::MessageClass::promotional);
  if (reviewed && !store_->keeps_campaigns())
    log::warn("state: memory keeps no campaign book: promotional messages of accounts under review wait forever (review: off to relay them)");
  store_->on_back([this](bool lost) { receipts_.store_back(lost); });
  if (!ctx_.policy->enforcing()) log::warn("policy.mode is off: messages are relayed without any rule");
  if (!ctx_.audit.open(ctx_.config.audit_file, ctx_.config.audit_mask_numbers, ctx_.config.audit_visible_digits))
    log::error("cannot open the audit log {}: {}", ctx_.config.audit_file, std::strerror(errno));
}

Hub::~Hub() = default;

// Campaign review and the held messages (docs/policy.md, Campaign review): a decision seen by this
// instance makes the campaign's held messages due; at release each asks the review again.
void Hub::wire_review() {
  review_.on_decided = [this](const std::string& account, const std::string& campaign, CampaignState) {
    holds_.campaign_decided(account, campaign);
  };
  holds_.set_review([this](const HeldRecord& record, std::string_view text, const policy::Verdict& verdict) {
    Holds::Review r;
    // Held for review: what its campaign says now. Held for the window only: it passed review
    // when it was held, and only a rejection since refuses it.
    ReviewStage::Decision d = record.campaign.empty()
                                  ? review_.decide(record.account, record.source, text, verdict.message_class)
                                  : review_.decided(record.account, record.campaign);
    if (d.outcome == ReviewStage::Outcome::hold) {
      if (!record.campaign.empty()) r.outcome = Holds::Review::Outcome::hold;
    } else if (d.outcome == ReviewStage::Outcome::reject) {
      r.outcome = Holds::Review::Outcome::reject;
      r.rule = d.rule;
      r.status = d.status;
      r.stat = d.stat;
    }
    return r;
  });
}

int Hub::start() {
  if (int rc = bind_reuseport(ctx_.loop, ctx_.config.smpp_listen, &listener_)) return rc;
  listener_.data = this;
  if (int rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 1024, [](uv_stream_t* s, int st) {
        if (st == 0) static_cast<Hub*>(s->data)->customers_.accept(s);
      }))
    return rc;
  smpp_port_ = bound_port(&listener_);
  if (int rc = start_tls_listener()) return rc;
  upstreams_.start();
  uv_check_init(ctx_.loop, &end_of_turn_);
  end_of_turn_.data = this;
  uv_check_start(&end_of_turn_, [](uv_check_t* c) { static_cast<Hub*>(c->data)->end_of_turn(); });
  uv_timer_init(ctx_.loop, &tick_);
  tick_.data = this;
  uv_timer_start(&tick_, [](uv_timer_t* t) { static_cast<Hub*>(t->data)->on_tick(); }, kTickMs, kTickMs);
  sample_recent(ctx_.now_ms());  // the zeros the first seconds' rates are counted from
  return 0;
}

// listen.smpps: the same customers, each connection given the certificate of the moment.
int Hub::start_tls_listener() {
  if (!ctx_.config.smpps_listen) return 0;
  if (int rc = bind_reuseport(ctx_.loop, *ctx_.config.smpps_listen, &tls_listener_)) return rc;
  tls_listener_.data = this;
  if (int rc = uv_listen(reinterpret_cast<uv_stream_t*>(&tls_listener_), 1024, [](uv_stream_t* s, int st) {
        auto* hub = static_cast<Hub*>(s->data);
        if (st == 0) hub->customers_.accept_tls(s, hub->ctx_.config.tls);
      }))
    return rc;
  smpps_port_ = bound_port(&tls_listener_);
  log::info("TLS certificate {} (SHA-256 {}, valid until {})", ctx_.config.tls->files().certificate,
            ctx_.config.tls->fingerprint(), ctx_.config.tls->not_after());
  return 0;
}

// The fresh config loaded its files and checked them, or the reload was refused before this:
// new connections take the new pair, open ones keep theirs.
void Hub::reload_tls(const Config& fresh) {
  if (!ctx_.config.smpps_listen || !fresh.tls) return;
  auto& running = ctx_.config.tls;
  if (running && running->fingerprint() == fresh.tls->fingerprint() && running->files() == fresh.tls->files()) {
    running = fresh.tls;  // the same certificate, a client_ca that may have changed
    return;
  }
  log::info("TLS certificate {} -> {} (valid until {}) for new connections", running ? running->fingerprint() : "none",
            fresh.tls->fingerprint(), fresh.tls->not_after());
  running = fresh.tls;
  ++counters().tls_reloads;
}

void Hub::end_of_turn() {
  receipts_.flush();
  // The turn's receipt mappings reach Redis' socket before the ESME_ROKs of the same turn reach
  // the customers' (their flush runs in the next prepare phase): a SIGKILL between the two writes
  // then costs answers that customers retry, never a receipt for a message they saw accepted.
  store_->write_queued();
  const size_t backlog = store_->backlog(), most = size_t(ctx_.config.limits.store_backlog_max);
  if (!ctx_.store_behind && backlog >= most) {
    ctx_.store_behind = true;
    ++counters().intake_pauses_store_behind;
    log::warn_limited("state store {} commands behind: customers are not read until it catches up", backlog);
  } else if (ctx_.store_behind && (backlog <= most / 2 || !store_->up())) {
    ctx_.store_behind = false;
    customers_.resume_intake();
  }
}

void Hub::on_tick() {
  ctx_.sync_wall_clock();
  uint64_t now = ctx_.now_ms();
  ctx_.audit.flush();
  bool restore = store_->up() && !ctx_.shutting_down && now - started_ms_ > uint64_t(keys::kClaimMs) + 500;
  submits_.on_tick(now, ticks_ % 2 == 0, restore);
  review_.on_tick(now);
  holds_.on_tick(now, ticks_ % 2 == 0);
  receipts_.on_tick(now);
  store_->sweep_receipts();
  deliveries_.on_tick(now);
  volume_.on_tick(now);
  if (ticks_ % 4 == 0) sample_recent(now);
  upstreams_.on_tick(now, ticks_++ % 4 == 0);
  shutdown_step(now);
}

bool Hub::reload(std::vector<std::string>* errors_out) {
  Config& config = ctx_.config;
  std::vector<ConfigError> errors;
  auto fresh = load_config(config.path, errors);
  if (errors_out)
    for (const auto& e : errors) errors_out->push_back(e.to_string());
  last_reload_unix_ms_ = wall_clock_ms();
  last_reload_ok_ = bool(fresh);
  last_reload_errors_ = errors.size();
  if (!fresh) {
    ++counters().policy_reload_failures;
    for (const auto& e : errors) log::error("{}", e.to_string());
    log::error("reload refused: {} errors; policy {} stays", errors.size(), ctx_.policy->version());
    ctx_.audit.event(ctx_.wall_ms(), "reload", {{"ok", false}, {"errors", errors.size()}, {"policy", ctx_.policy->version()}});
    return false;
  }
  // What the running process cannot change: reported, not half-applied.
  for (const auto& what : sections_needing_restart(config, *fresh)) {
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
  config.accounts = fresh->accounts;
  config.mo_owner = fresh->mo_owner;
  config.policy = fresh->policy;
  config.review = fresh->review;
  if (fresh->admin.token != config.admin.token)
    log::info("admin API {}", fresh->admin.token.empty() ? "off" : config.admin.token.empty() ? "on" : "token replaced");
  config.admin = fresh->admin;  // the token file is read again: a new token applies now
  reload_tls(*fresh);
  if (fresh->audit_file != config.audit_file || fresh->audit_mask_numbers != config.audit_mask_numbers ||
      fresh->audit_visible_digits != config.audit_visible_digits) {
    config.audit_file = fresh->audit_file;
    config.audit_mask_numbers = fresh->audit_mask_numbers;
    config.audit_visible_digits = fresh->audit_visible_digits;
    ctx_.audit.open(config.audit_file, config.audit_mask_numbers, config.audit_visible_digits);
  }
  std::string old_version = ctx_.policy->version();
  ctx_.policy = fresh->policy;  // one step: messages in flight keep the table they were decided by
  ++counters().policy_reloads;
  log::info("reloaded {}: policy {} -> {}", config.path, old_version, ctx_.policy->version());
  ctx_.audit.event(ctx_.wall_ms(), "reload", {{"ok", true}, {"policy", ctx_.policy->version()}, {"previous", old_version}});
  return true;
}

void Hub::audit_event(std::string_view kind, const nlohmann::ordered_json& fields) {
  ctx_.audit.event(ctx_.wall_ms(), kind, fields);
  ctx_.audit.flush();
}

void Hub::reopen_audit_log() {
  if (!ctx_.audit.reopen()) log::error("cannot reopen the audit log {}: {}", ctx_.config.audit_file, std::strerror(errno));
}

// ---- the NOC's view and shutdown ----

Snapshot Hub::snapshot() const {
  Snapshot s;
  s.version = version_;
  s.uptime_s = (uv_now(ctx_.loop) - started_ms_) / 1000;
  customers_.describe(s);
  upstreams_.describe(s);
  submits_.describe(s);
  s.held_now = holds_.held_now();
  s.held_releasing = holds_.releasing();
  s.state_store = store_->describe();
  policy::StateNeeds every;
  every.throughput = every.opt_out = every.awareness = every.charge = true;
  s.store_needed = ctx_.policy->enforcing() && ctx_.policy->blocking_when_store_down(every) != policy::Rule::none;
  s.receipt_mappings_held = receipts_.held();
  s.receipt_mappings_unconfirmed = receipts_.unconfirmed();
  describe_accounts(s);
  s.policy_version = ctx_.policy->version();
  s.now_unix_ms = wall_clock_ms();
  s.last_reload_unix_ms = last_reload_unix_ms_;
  s.last_reload_ok = last_reload_ok_;
  s.last_reload_errors = last_reload_errors_;
  return s;
}

void Hub::describe_accounts(Snapshot& s) const {
  const uint64_t now = ctx_.now_ms();
  for (const auto& [name, account] : accounts_) {
    AccountSnapshot a;
    a.name = name;
    a.configured = account.config != nullptr;
    if (auto it = s.sessions.find(name); it != s.sessions.end()) a.sessions = it->second;
    a.per_second = per_second(account.tally.received_samples, now, account.tally.received);
    a.tally = account.tally;
    s.accounts.push_back(std::move(a));
  }
}

// Once a second: the counters the NOC's recent rates and percentiles are computed from, so that
// a message costs only its increments.
void Hub::sample_recent(uint64_t now) {
  upstreams_.sample_recent(now);
  for (auto& [name, account] : accounts_) account.tally.received_samples.take(now, account.tally.received);
}

// SIGTERM, in steps driven by the tick (each bounded, so that the process always exits). What
// a balancer in front of several instances needs: taken out by its health check before the
// port closes, and every customer told to go (to another instance) with all its submits answered.
//   not_ready  /readyz answers 503 for limits.drain_grace_ms; everything else goes on as usual
//   customers  the customer port closes; every bound customer gets unbind (others are closed);
//              what it sent before its unbind_resp crossed our unbind and is relayed as usual;
//              each session closes once it answered and its submits are answered (at most
//              kCustomersLeaveMs: a silent customer does not hold the links)
//   links      no new work; unbind to every operator link (what they still hold is answered
//              ESME_RSYSERR now, ahead of its customer's close)
//   closing    after kUnbindWaitMs, peers that did not answer are closed once their output is
//              flushed, or at once after kLastFlushMs more; then the state store and the timers.
void Hub::shutdown(std::function<void()> stopped) {
  if (shutdown_step_ != ShutdownStep::running) return;
  shutdown_step_ = ShutdownStep::not_ready;
  stopped_ = std::move(stopped);
  shutdown_started_ms_ = ctx_.now_ms();
  ++counters().customer_ports_drained;
  log::info("shutting down: /readyz answers 503; the customer port closes in {} ms (limits.drain_grace_ms)",
            ctx_.config.limits.drain_grace_ms);
  if (ctx_.config.limits.drain_grace_ms == 0) unbind_customers(shutdown_started_ms_);
}

void Hub::shutdown_step(uint64_t now) {
  switch (shutdown_step_) {
    case ShutdownStep::running: return;
    case ShutdownStep::not_ready:
      if (now - shutdown_started_ms_ >= uint64_t(ctx_.config.limits.drain_grace_ms)) unbind_customers(now);
      return;
    case ShutdownStep::customers:
      if (customers_.none() || now - customers_told_ms_ >= kCustomersLeaveMs) unbind_links(now);
      return;
    case ShutdownStep::links:
    case ShutdownStep::closing:
      if (upstreams_.no_links() && customers_.none()) return finish_shutdown();
      if (shutdown_step_ == ShutdownStep::links && now - unbind_started_ms_ >= kUnbindWaitMs) {
        shutdown_step_ = ShutdownStep::closing;
        close_unanswered(false);
      } else if (now - unbind_started_ms_ >= kUnbindWaitMs + kLastFlushMs) {
        close_unanswered(true);
      }
      return;
    case ShutdownStep::done: return;
  }
}

void Hub::unbind_customers(uint64_t now) {
  if (shutdown_step_ != ShutdownStep::not_ready) return;
  shutdown_step_ = ShutdownStep::customers;
  customers_told_ms_ = now;
  ctx_.customers_leaving = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  if (smpps_port_) uv_close(reinterpret_cast<uv_handle_t*>(&tls_listener_), nullptr);
  size_t customers = customers_.unbind_all();
  log::info("shutting down: the customer ports are closed; unbind sent to {} customer sessions", customers);
}

void Hub::unbind_links(uint64_t now) {
  if (shutdown_step_ != ShutdownStep::customers) return;
  shutdown_step_ = ShutdownStep::links;
  unbind_started_ms_ = now;
  ctx_.shutting_down = true;
  upstreams_.fail_waiting(status::ESME_RSYSERR);
  size_t links = upstreams_.unbind_all();
  customers_.unbind_all();  // those still there were told already: they are waited for, then closed
  log::info("shutting down: unbind sent to {} operator links", links);
}

// Peers that did not answer the unbind: closed once what is queued to them is written; at
// the last step (hard), at once.
void Hub::close_unanswered(bool hard) {
  auto close = [this, hard](Connection& peer) {
    if (hard) return peer.close("shutting down: its output could not be flushed");
    if (peer.closing()) return;
    ++counters().unbinds_unanswered;
    peer.close_after_flush("shutting down: no unbind_resp in time");
  };
  upstreams_.for_each_link(close);
  customers_.for_each_session(close);
}

void Hub::finish_shutdown() {
  shutdown_step_ = ShutdownStep::done;
  if (stopped_) stopped_();  // the stats port (/readyz's 503) stays up to here
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
  receipts_.flush();
  uv_close(reinterpret_cast<uv_handle_t*>(&end_of_turn_), nullptr);
  upstreams_.stop();
  submits_.finish();
  store_->close();
}

}  // namespace proxy
