// The NOC's counters and histograms, what the stages report beside them (Snapshot), and their
// /stats (JSON) and /metrics (Prometheus) forms.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/message.h"

namespace proxy {

struct Counters {
#define X(name, help) uint64_t name = 0;
#include "proxy/stats/counters.def"
#undef X
};

// Round-trip latency, submit_sm to submit_sm_resp, in fixed microsecond buckets.
class LatencyHistogram {
 public:
  static constexpr std::array<uint64_t, 12> kBoundsUs = {100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 500000, 2000000};
  using Buckets = std::array<uint64_t, kBoundsUs.size() + 1>;  // the last: above every bound
  void record(uint64_t us);
  uint64_t count() const { return count_; }
  uint64_t sum_us() const { return sum_us_; }
  const Buckets& buckets() const { return buckets_; }
  void add(const LatencyHistogram& other);
  // What was recorded since `earlier` (a copy of this histogram taken before).
  LatencyHistogram since(const LatencyHistogram& earlier) const;
  // The q-quantile in microseconds, interpolated inside its bucket as Prometheus'
  // histogram_quantile does (so that the status page and Grafana agree); none when empty.
  std::optional<double> quantile_us(double q) const;

 private:
  Buckets buckets_{};
  uint64_t count_ = 0, sum_us_ = 0;
};

// The last few samples of a value, taken by the hub's tick once a second: rates and recent
// percentiles are computed when the NOC asks, from the value now and the oldest sample kept, so
// that a message costs only the increment of its counter.
template <class Value>
class RecentSamples {
 public:
  static constexpr size_t kKept = 11;  // a sample a second: the last ten seconds
  void take(uint64_t now_ms, const Value& v) {
    ring_[next_] = {now_ms, v};
    next_ = (next_ + 1) % kKept;
    if (kept_ < kKept) ++kept_;
  }
  struct Sample {
    uint64_t ms = 0;
    Value value{};
  };
  // The oldest sample still kept, none before the first.
  const Sample* oldest() const { return kept_ == 0 ? nullptr : &ring_[kept_ < kKept ? 0 : next_]; }

 private:
  std::array<Sample, kKept> ring_{};
  size_t next_ = 0, kept_ = 0;
};

// A counter's rate over the last ~10 s: (now - oldest sample) / elapsed; 0 without a sample.
double per_second(const RecentSamples<uint64_t>& samples, uint64_t now_ms, uint64_t value_now);
// What a histogram recorded over the last ~10 s (all of it before the first sample).
LatencyHistogram recent(const RecentSamples<LatencyHistogram>& samples, const LatencyHistogram& now);

// An account's figures, kept in its Account (customer/account.h), which every submit of it reaches.
struct AccountTally {
  uint64_t received = 0;  // submit_sm received
  uint64_t accepted = 0;  // relayed: the operator answered OK
  uint64_t refused = 0;   // refused by the proxy (any status)
  std::array<uint64_t, size_t(policy::Rule::count)> refused_by_rule{};  // decisions refused, by rule
  RecentSamples<uint64_t> received_samples;
  // The volume watch (submit/volume_watch.h): each alarm while it is on, and how often it was raised.
  bool volume_surge = false, volume_over_daily_max = false;
  uint64_t volume_surges = 0, volume_daily_max_passed = 0;
};

// An operator link's figures, kept by the upstream stage for each configured link (they outlive
// the link's sessions); an operator's are the sum of its links'.
struct LinkTally {
  uint64_t sent = 0;      // submit_sm written to the operator
  uint64_t accepted = 0;  // answered OK
  uint64_t refused = 0;   // answered with an error status (or generic_nack)
  uint64_t failed = 0;    // no answer: timed out, or the link closed with it
  LatencyHistogram rtt;
  RecentSamples<uint64_t> sent_samples;
  RecentSamples<LatencyHistogram> rtt_samples;
};

// The wall clock, for times shown to people (a state's "since", the last reload): real time even
// when the rules' clock is frozen for a test (--fake-time).
inline int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct LinkSnapshot {
  int slot = 0;
  std::string state;  // "bound", "connecting", "down" (or "closing" at shutdown)
  int64_t since_unix_ms = 0;  // the last change of state
  uint64_t in_flight = 0;
  int window = 0;
  double per_second = 0;  // submits sent, over the last ~10 s
  std::optional<double> rtt_p99_us;  // over the last ~10 s; none without an answer then
  LinkTally tally;
};

struct UpstreamSnapshot {
  std::string name;
  int links_configured = 0;
  int links_bound = 0;
  uint64_t in_flight = 0;
  uint64_t waiting = 0;
  std::string control = "running";  // or "stopped", "draining": set through the admin API
  std::vector<LinkSnapshot> links;
};

struct AccountSnapshot {
  std::string name;
  bool configured = true;  // false once a reload removed it (its bound sessions stay)
  int sessions = 0;        // bound customer sessions
  double per_second = 0;   // submits received, over the last ~10 s
  AccountTally tally;
};

// What the stages report beside the counters (Hub::snapshot), read when the NOC asks.
struct Snapshot {
  std::string version;
  uint64_t uptime_s = 0;
  std::map<std::string, int> sessions;  // bound customer sessions per account
  std::vector<UpstreamSnapshot> upstreams;
  std::vector<AccountSnapshot> accounts;
  std::string state_store;  // "memory", "redis up", "redis down"
  bool store_needed = false;  // a stateful rule in force blocks while the store is down
  uint64_t ported_numbers = 0;
#define X(name, help) uint64_t name = 0;
#include "proxy/stats/gauges.def"
#undef X
  std::string ported_version;
  std::string policy_version;
  int64_t now_unix_ms = 0;
  // The last load of the files: at start-up, then each reload (SIGHUP).
  int64_t last_reload_unix_ms = 0;
  bool last_reload_ok = true;
  uint64_t last_reload_errors = 0;
};

class Stats {
 public:
  Counters counters;
  void refused(uint32_t status) { ++refused_by_status_[status]; }
  void decided(const policy::Verdict& v);  // per-rule rejections and flags
  // The same, and a refusal also counted against its account (none for the proxy's own messages).
  void decided(const policy::Verdict& v, AccountTally* account) {
    decided(v);
    if (account && v.outcome == policy::Outcome::reject && v.rule != policy::Rule::none) ++account->refused_by_rule[size_t(v.rule)];
  }

  std::string json(const Snapshot& s) const;
  std::string prometheus(const Snapshot& s) const;  // metrics.cc
  static std::string describe();  // one line per counter: name and help

  const std::map<uint32_t, uint64_t>& refused_by_status() const { return refused_by_status_; }
  uint64_t rule_rejected(size_t rule) const { return rule_rejected_[rule]; }
  uint64_t rule_flagged(size_t rule) const { return rule_flagged_[rule]; }

 private:
  std::map<uint32_t, uint64_t> refused_by_status_;
  std::array<uint64_t, size_t(policy::Rule::count)> rule_rejected_{}, rule_flagged_{};
};

// Every operator link's round trips together: the histogram /metrics has always shown.
LatencyHistogram all_links_rtt(const Snapshot& s);
// "ESME_RINVDSTADR", or "0x0000040B" for a status without a name.
std::string status_label(uint32_t status);

}  // namespace proxy
