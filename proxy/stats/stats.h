// The NOC's counters and histograms, and their /stats (JSON) and /metrics (Prometheus) forms.
#pragma once

#include <array>
#include <cstdint>
#include <map>
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

// Upstream round-trip latency, submit_sm to submit_sm_resp, in fixed microsecond buckets.
class LatencyHistogram {
 public:
  static constexpr std::array<uint64_t, 12> kBoundsUs = {100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 500000, 2000000};
  void record(uint64_t us);
  uint64_t count() const { return count_; }
  uint64_t sum_us() const { return sum_us_; }
  const std::array<uint64_t, kBoundsUs.size() + 1>& buckets() const { return buckets_; }

 private:
  std::array<uint64_t, kBoundsUs.size() + 1> buckets_{};
  uint64_t count_ = 0, sum_us_ = 0;
};

struct UpstreamSnapshot {
  std::string name;
  int links_configured = 0;
  int links_bound = 0;
  uint64_t in_flight = 0;
  uint64_t waiting = 0;
  std::string control = "running";  // or "stopped", "draining": set through the admin API
};

// What the stages report beside the counters (Hub::snapshot), read when the NOC asks.
struct Snapshot {
  std::string version;
  uint64_t uptime_s = 0;
  std::map<std::string, int> sessions;  // bound customer sessions per account
  std::vector<UpstreamSnapshot> upstreams;
  std::string state_store;  // "memory", "redis up", "redis down"
  bool store_needed = false;  // a stateful rule in force blocks while the store is down
  uint64_t ported_numbers = 0;
#define X(name, help) uint64_t name = 0;
#include "proxy/stats/gauges.def"
#undef X
  std::string ported_version;
};

class Stats {
 public:
  Counters counters;
  LatencyHistogram upstream_rtt;
  void refused(uint32_t status) { ++refused_by_status_[status]; }
  void decided(const policy::Verdict& v);  // per-rule rejections and flags

  std::string json(const Snapshot& s) const;
  std::string prometheus(const Snapshot& s) const;
  static std::string describe();  // one line per counter: name and help

 private:
  std::map<uint32_t, uint64_t> refused_by_status_;
  std::array<uint64_t, size_t(policy::Rule::count)> rule_rejected_{}, rule_flagged_{};
};

}  // namespace proxy
