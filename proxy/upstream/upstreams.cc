// The operator side (proxy/upstream/upstreams.h): routing, links, the queue, reconnects.
#include "proxy/upstream/upstreams.h"

#include <algorithm>
#include <cstdlib>

#include "proxy/log.h"
#include "proxy/state/store.h"

namespace proxy {

namespace status = smpp::status;

Upstreams::Upstreams(Context& ctx) : ctx_(ctx), limits_(upstream_limits(ctx.config.limits)) {
  pools_.resize(ctx_.config.upstreams.size());
  for (size_t u = 0; u < pools_.size(); ++u) {
    pools_[u].config = &ctx_.config.upstreams[u];
    for (int s = 0; s < ctx_.config.upstreams[u].sessions; ++s) {
      auto link = std::make_unique<Link>();
      link->owner = this;
      link->upstream = int(u);
      link->slot = s;
      link->state_since_unix_ms = wall_clock_ms();
      pools_[u].links.push_back(std::move(link));
    }
  }
}

Upstreams::~Upstreams() = default;

void Upstreams::wire(SubmitAnswers* answers, OperatorDeliveries* deliveries) {
  answers_ = answers;
  deliveries_ = deliveries;
}

void Upstreams::start() {
  for (auto& pool : pools_)
    for (auto& link : pool.links) {
      uv_timer_init(ctx_.loop, &link->reconnect);
      link->reconnect.data = link.get();
      start_link(link->upstream, link->slot);
    }
}

// ---- routing and sending ----

std::optional<int> Upstreams::route(const std::string& destination) const {
  std::optional<std::string_view> ported;
  if (auto it = ported_.find(destination); it != ported_.end()) ported = it->second;
  return ctx_.config.routes.route(destination, ported);
}

void Upstreams::dispatch(SubmitPtr submit) {
  Pool& pool = pools_[size_t(submit->upstream)];
  bool any_bound = false;
  for (size_t i = 0; pool.control == Control::running && i < pool.links.size(); ++i) {
    auto& link = *pool.links[(pool.next_link + i) % pool.links.size()];
    if (!link.session || !link.session->bound()) continue;
    any_bound = true;
    if (pool.waiting.empty() && link.session->has_room()) {
      pool.next_link = (pool.next_link + i + 1) % pool.links.size();
      return link.session->send(std::move(submit));
    }
  }
  if (!any_bound || ctx_.shutting_down) {
    ++ctx_.counters().submits_temporary_error;
    return answers_->submit_failed(std::move(submit), status::ESME_RSYSERR);
  }
  // Bounded: every waiting submit holds a place in its customer's window, whose socket is not
  // read while the window is full.
  submit->deadline_ms = ctx_.now_ms() + uint64_t(ctx_.config.limits.response_timeout_ms);
  pool.waiting.push_back(std::move(submit));
}

// One link for all parts, so that the operator gets them in order: the bound one with most room.
void Upstreams::dispatch_in_order(int upstream, std::vector<SubmitPtr> parts) {
  UpstreamSession* link = nullptr;
  const Pool& pool = pools_[size_t(upstream)];
  for (auto& l : pool.links)
    if (pool.control == Control::running && l->session && l->session->bound() && (!link || l->session->in_flight() < link->in_flight())) link = l->session;
  for (auto& s : parts) {
    s->upstream = upstream;
    if (link) link->send(std::move(s));
    else answers_->submit_failed(std::move(s), status::ESME_RSYSERR);
  }
}

void Upstreams::drain(Pool& pool) {
  while (pool.control == Control::running && !pool.waiting.empty()) {
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

void Upstreams::acknowledge(uint64_t link, uint32_t sequence, uint32_t st) {
  if (auto it = sessions_.find(link); it != sessions_.end()) it->second->acknowledge_deliver(sequence, st);
}

void Upstreams::submit_answered(SubmitPtr submit, uint32_t st, std::string_view operator_id) {
  Pool& pool = pools_[size_t(submit->upstream)];
  answers_->submit_answered(std::move(submit), st, operator_id);
  drain(pool);
  finish_draining(pool);
}

// ---- links ----

void Upstreams::start_link(int upstream, int slot) {
  if (ctx_.shutting_down || pools_[size_t(upstream)].control != Control::running) return;
  uint64_t id = ctx_.next_session_id++;
  auto session = std::make_unique<UpstreamSession>(ctx_.loop, ctx_.config.upstreams[size_t(upstream)], limits_,
                                                   ctx_.counters(), *this, *deliveries_,
                                                   pools_[size_t(upstream)].links[size_t(slot)]->tally, upstream, slot, id);
  pools_[size_t(upstream)].links[size_t(slot)]->session = session.get();
  note_state(*pools_[size_t(upstream)].links[size_t(slot)]);
  UpstreamSession* raw = session.get();
  sessions_.emplace(id, std::move(session));
  raw->connect();
}

void Upstreams::link_bound(UpstreamSession& session) {
  ++ctx_.counters().upstream_connects;
  Pool& pool = pools_[size_t(session.upstream())];
  pool.links[size_t(session.slot())]->failures = 0;
  note_state(*pool.links[size_t(session.slot())]);
  if (pool.control != Control::running) return session.unbind("stopped through the admin API");
  drain(pool);
}

void Upstreams::link_closed(UpstreamSession& session, bool was_bound) {
  ++ctx_.counters().upstream_link_failures;
  Pool& pool = pools_[size_t(session.upstream())];
  Link& link = *pool.links[size_t(session.slot())];
  if (link.session == &session) {
    link.session = nullptr;
    if (!was_bound) ++link.failures;
    bool any_bound = false;
    for (auto& l : pool.links) any_bound = any_bound || (l->session && l->session->bound());
    if (!any_bound) fail_all_waiting(pool, status::ESME_RSYSERR);
    schedule_reconnect(session.upstream(), session.slot());
  }
  sessions_.erase(session.id());
  note_state(link);
  finish_draining(pool);
}

// A link is bound, or connecting (its first try, or again after a bound session closed), or
// down (its last try failed: it keeps trying with backoff). "Since" moves only when that
// changes, so a dead SMSC shows down since it went, not since its last retry.
void Upstreams::note_state(Link& link) {
  std::string_view now = link.session && link.session->bound() ? "bound" : link.failures > 0 ? "down" : "connecting";
  if (now == link.state) return;
  link.state = now;
  link.state_since_unix_ms = wall_clock_ms();
}

void Upstreams::schedule_reconnect(int upstream, int slot) {
  if (ctx_.shutting_down || pools_[size_t(upstream)].control != Control::running) return;
  Link& link = *pools_[size_t(upstream)].links[size_t(slot)];
  const UpstreamConfig& c = ctx_.config.upstreams[size_t(upstream)];
  // Exponential backoff with jitter, so that three links to a recovering SMSC do not knock together.
  uint64_t delay = uint64_t(c.reconnect_min_ms) << std::min(link.failures, 10);
  delay = std::min<uint64_t>(delay, uint64_t(c.reconnect_max_ms));
  delay = delay / 2 + uint64_t(std::rand()) % (delay / 2 + 1);
  uv_timer_start(&link.reconnect, [](uv_timer_t* t) {
    auto* l = static_cast<Link*>(t->data);
    l->owner->start_link(l->upstream, l->slot);
  }, delay, 0);
}

void Upstreams::fail_all_waiting(Pool& pool, uint32_t st) {
  while (!pool.waiting.empty()) {
    auto submit = std::move(pool.waiting.front());
    pool.waiting.pop_front();
    ++ctx_.counters().submits_temporary_error;
    answers_->submit_failed(std::move(submit), st);
  }
}

void Upstreams::fail_waiting(uint32_t st) {
  for (auto& pool : pools_) fail_all_waiting(pool, st);
}

void Upstreams::expire_waiting(uint64_t now) {
  for (auto& pool : pools_)
    while (!pool.waiting.empty() && pool.waiting.front()->deadline_ms <= now) {
      auto submit = std::move(pool.waiting.front());
      pool.waiting.pop_front();
      ++ctx_.counters().submits_temporary_error;
      answers_->submit_failed(std::move(submit), status::ESME_RTHROTTLED);
    }
}

void Upstreams::on_tick(uint64_t now, bool refresh_ported) {
  if (refresh_ported && !ctx_.shutting_down) refresh_ported_numbers();
  expire_waiting(now);
}

// Ported numbers live in the state store (`hajib ported load`); each instance keeps a copy,
// read again when its version changes.
void Upstreams::refresh_ported_numbers() {
  if (ported_loading_) return;
  ported_loading_ = true;
  ctx_.store->ported_version([this](bool ok, std::optional<std::string> version) {
    if (!ok || version == ported_version_) {
      ported_loading_ = false;
      return;
    }
    ctx_.store->ported_numbers([this, version](bool ok, std::vector<std::pair<std::string, std::string>> items) {
      ported_loading_ = false;
      if (!ok) return;
      ported_.clear();
      for (auto& [number, upstream] : items) ported_.emplace(std::move(number), std::move(upstream));
      ported_version_ = version;
      log::info("{} ported numbers loaded (version {})", ported_.size(), version.value_or("0"));
    });
  });
}

// ---- the admin API's controls ----

bool Upstreams::control(const std::string& name, UpstreamControl action) {
  auto it = std::find_if(pools_.begin(), pools_.end(), [&](const Pool& p) { return p.config->name == name; });
  if (it == pools_.end()) return false;
  Pool& pool = *it;
  switch (action) {
    case UpstreamControl::stop:
      pool.control = Control::stopped;
      take_down(pool, "stopped through the admin API");
      break;
    case UpstreamControl::start:
      pool.control = Control::running;
      bring_up(pool);
      break;
    case UpstreamControl::drain:
      if (pool.control != Control::running) break;  // stopped, or draining already
      pool.control = Control::draining;
      fail_all_waiting(pool, status::ESME_RSYSERR);  // new work: it goes nowhere now
      for (auto& link : pool.links) uv_timer_stop(&link->reconnect);
      finish_draining(pool);
      break;
  }
  return true;
}

// As with a lost link: what waits is answered ESME_RSYSERR now, what is in flight when each link
// unbinds (never re-sent on our own: the operator may have taken it).
void Upstreams::take_down(Pool& pool, std::string_view why) {
  fail_all_waiting(pool, status::ESME_RSYSERR);
  for (auto& link : pool.links) {
    uv_timer_stop(&link->reconnect);
    if (link->session && !link->session->unbinding()) link->session->unbind(why);
  }
}

void Upstreams::bring_up(Pool& pool) {
  for (auto& link : pool.links) {
    if (link->session) continue;  // still up, or unbinding: its close schedules the reconnect
    uv_timer_stop(&link->reconnect);
    link->failures = 0;
    start_link(link->upstream, link->slot);
  }
}

// A draining link with nothing in flight is unbound; once none is left the operator is stopped.
void Upstreams::finish_draining(Pool& pool) {
  if (pool.control != Control::draining) return;
  bool any_left = false;
  for (auto& link : pool.links) {
    UpstreamSession* s = link->session;
    if (!s) continue;
    any_left = true;
    if (s->in_flight() == 0 && !s->unbinding() && !s->closing()) s->unbind("drained through the admin API");
  }
  if (!any_left) pool.control = Control::stopped;
}

// ---- the NOC's view and shutdown ----

bool Upstreams::every_operator_bound() const {
  for (const auto& pool : pools_) {
    bool bound = false;
    for (const auto& l : pool.links) bound |= l->session && l->session->bound();
    if (!bound) return false;
  }
  return true;
}

void Upstreams::describe(Snapshot& s) const {
  for (const auto& pool : pools_) {
    UpstreamSnapshot u;
    u.name = pool.config->name;
    u.links_configured = int(pool.links.size());
    for (const auto& l : pool.links) {
      if (l->session) {
        u.links_bound += l->session->bound() ? 1 : 0;
        u.in_flight += l->session->in_flight();
      }
      u.links.push_back(link_snapshot(*l, pool.config->window, ctx_.now_ms()));
    }
    u.waiting = pool.waiting.size();
    u.control = pool.control == Control::running ? "running" : pool.control == Control::stopped ? "stopped" : "draining";
    s.upstreams.push_back(u);
  }
  s.ported_numbers = ported_.size();
  s.ported_version = ported_version_.value_or("0");
}

LinkSnapshot Upstreams::link_snapshot(const Link& l, int window, uint64_t now_ms) {
  LinkSnapshot out;
  out.slot = l.slot;
  out.state = l.session && l.session->closing() ? "closing" : l.state;
  out.since_unix_ms = l.state_since_unix_ms;
  out.in_flight = l.session ? l.session->in_flight() : 0;
  out.window = window;
  out.per_second = per_second(l.tally.sent_samples, now_ms, l.tally.sent);
  out.rtt_p99_us = recent(l.tally.rtt_samples, l.tally.rtt).quantile_us(0.99);
  out.tally = l.tally;
  return out;
}

void Upstreams::sample_recent(uint64_t now_ms) {
  for (auto& pool : pools_)
    for (auto& l : pool.links) {
      l->tally.sent_samples.take(now_ms, l->tally.sent);
      l->tally.rtt_samples.take(now_ms, l->tally.rtt);
    }
}

bool Upstreams::idle() const {
  for (const auto& pool : pools_) {
    if (!pool.waiting.empty()) return false;
    for (const auto& l : pool.links)
      if (l->session && l->session->in_flight()) return false;
  }
  return true;
}

size_t Upstreams::unbind_all() {
  std::vector<UpstreamSession*> links;
  for (auto& [id, link] : sessions_) links.push_back(link.get());
  for (auto* link : links) link->unbind();
  return links.size();
}

void Upstreams::for_each_link(const std::function<void(Connection&)>& fn) {
  std::vector<UpstreamSession*> links;
  for (auto& [id, link] : sessions_) links.push_back(link.get());
  for (auto* link : links) fn(*link);
}

void Upstreams::stop() {
  for (auto& pool : pools_)
    for (auto& l : pool.links) uv_close(reinterpret_cast<uv_handle_t*>(&l->reconnect), nullptr);
}

}  // namespace proxy
