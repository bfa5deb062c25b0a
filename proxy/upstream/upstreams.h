// The operator side as a whole: the links to each SMSC, which one a message goes to (prefix and
// ported-number routing), the submits waiting for room, reconnects with backoff.
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/context.h"
#include "proxy/flow.h"
#include "proxy/upstream/session.h"

namespace proxy {

// Where a submit's end goes: the submit stage.
class SubmitAnswers {
 public:
  virtual ~SubmitAnswers() = default;
  // The operator's answer (or ESME_RSYSERR for a link that dropped or timed out with it).
  virtual void submit_answered(SubmitPtr submit, uint32_t status, std::string_view operator_id) = 0;
  // It never reached an operator: no route, no bound link, too long in the queue, shutdown.
  virtual void submit_failed(SubmitPtr submit, uint32_t status) = 0;
};

// What the submit stage asks of the operator side (a fake stands in for it in unit tests).
class Outbound {
 public:
  virtual ~Outbound() = default;
  // The operator for a normalised destination (ported numbers first), or none.
  virtual std::optional<int> route(const std::string& destination) const = 0;
  // On a link with room, else queued behind the others (bounded by the customers' windows).
  virtual void dispatch(SubmitPtr submit) = 0;
  // The parts of one long message, in order, on one link; those that cannot go are failed.
  virtual void dispatch_in_order(int upstream, std::vector<SubmitPtr> parts) = 0;
};

// What the deliver stage asks of the operator side.
class OperatorAcks {
 public:
  virtual ~OperatorAcks() = default;
  // deliver_sm_resp on the link that brought the deliver_sm, if it is still there.
  virtual void acknowledge(uint64_t link, uint32_t sequence, uint32_t status) = 0;
};

// What ops can do to one operator through the admin API.
enum class UpstreamControl { stop, start, drain };

class Upstreams final : public Outbound, public OperatorAcks, public LinkEvents {
 public:
  explicit Upstreams(Context& ctx);
  ~Upstreams() override;
  void wire(SubmitAnswers* answers, OperatorDeliveries* deliveries);
  void start();  // connects every configured link

  std::optional<int> route(const std::string& destination) const override;
  void dispatch(SubmitPtr submit) override;
  void dispatch_in_order(int upstream, std::vector<SubmitPtr> parts) override;
  void acknowledge(uint64_t link, uint32_t sequence, uint32_t status) override;

  // Every tick: submits too long in the queue; ported numbers re-read when asked.
  void on_tick(uint64_t now, bool refresh_ported);
  void describe(Snapshot& s) const;
  // Once a second (the hub's tick): each link's counters, for its recent rate and RTT p99.
  void sample_recent(uint64_t now_ms);
  bool idle() const;  // nothing queued, nothing at an operator

  // The admin API (proxy/admin/). stop: unbind its links and keep them down; start: connect them
  // again; drain: send nothing new to it, let what is in flight be answered, then unbind and keep
  // down. Submits routed to an operator that is not running are answered as when it has no bound
  // link (ESME_RSYSERR). False when no upstream has that name.
  bool control(const std::string& name, UpstreamControl action);

  // Shutdown.
  void fail_waiting(uint32_t status);
  size_t unbind_all();                   // returns the links told
  void for_each_link(const std::function<void(Connection&)>& fn);
  bool no_links() const { return sessions_.empty(); }
  bool every_operator_bound() const;  // each upstream has a bound link (held messages wait for it)
  void stop();                           // the reconnect timers

 private:
  struct Link {
    Upstreams* owner = nullptr;
    int upstream = 0, slot = 0;
    UpstreamSession* session = nullptr;
    uv_timer_t reconnect{};
    int failures = 0;
    // For the NOC: what it reports now and since when (wall clock), its figures across sessions.
    std::string_view state = "connecting";
    int64_t state_since_unix_ms = 0;
    LinkTally tally;
  };
  enum class Control { running, stopped, draining };
  struct Pool {
    const UpstreamConfig* config = nullptr;
    Control control = Control::running;
    std::vector<std::unique_ptr<Link>> links;
    std::deque<SubmitPtr> waiting;  // bounded by the customers' windows
    size_t next_link = 0;
  };

  // LinkEvents
  void link_bound(UpstreamSession& link) override;
  void submit_answered(SubmitPtr submit, uint32_t status, std::string_view operator_id) override;
  void link_closed(UpstreamSession& link, bool was_bound) override;

  void take_down(Pool& pool, std::string_view why);
  void bring_up(Pool& pool);
  void finish_draining(Pool& pool);
  void start_link(int upstream, int slot);
  void schedule_reconnect(int upstream, int slot);
  void drain(Pool& pool);
  void fail_all_waiting(Pool& pool, uint32_t status);
  void expire_waiting(uint64_t now);
  void refresh_ported_numbers();
  void note_state(Link& link);
  static LinkSnapshot link_snapshot(const Link& link, int window, uint64_t now_ms);

  Context& ctx_;
  SubmitAnswers* answers_ = nullptr;
  OperatorDeliveries* deliveries_ = nullptr;
  UpstreamLimits limits_;
  std::deque<Pool> pools_;  // a deque: pools hold move-only members and never relocate
  std::unordered_map<uint64_t, std::unique_ptr<UpstreamSession>> sessions_;
  std::unordered_map<std::string, std::string> ported_;  // number -> operator, from the state store
  std::optional<std::string> ported_version_;
  bool ported_loading_ = false;
};

}  // namespace proxy
