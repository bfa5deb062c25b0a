// The counters and histograms, recent rates and percentiles, and the /stats (JSON) rendering.
#include "proxy/stats/stats.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "proxy/log.h"

#include "smpp/protocol.h"

namespace proxy {

void LatencyHistogram::record(uint64_t us) {
  size_t i = 0;
  while (i < kBoundsUs.size() && us > kBoundsUs[i]) ++i;
  ++buckets_[i];
  ++count_;
  sum_us_ += us;
}

void LatencyHistogram::add(const LatencyHistogram& other) {
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_us_ += other.sum_us_;
}

LatencyHistogram LatencyHistogram::since(const LatencyHistogram& earlier) const {
  LatencyHistogram d;
  for (size_t i = 0; i < buckets_.size(); ++i) d.buckets_[i] = buckets_[i] - earlier.buckets_[i];
  d.count_ = count_ - earlier.count_;
  d.sum_us_ = sum_us_ - earlier.sum_us_;
  return d;
}

std::optional<double> LatencyHistogram::quantile_us(double q) const {
  if (count_ == 0) return std::nullopt;
  const double rank = q * double(count_);
  uint64_t below = 0;
  for (size_t i = 0; i < kBoundsUs.size(); ++i) {
    const uint64_t in = buckets_[i];
    if (in > 0 && double(below + in) >= rank) {
      const double lower = i == 0 ? 0 : double(kBoundsUs[i - 1]), upper = double(kBoundsUs[i]);
      return lower + (upper - lower) * (rank - double(below)) / double(in);
    }
    below += in;
  }
  // Above the last bound: like histogram_quantile, the highest bound is all that can be said.
  return double(kBoundsUs.back());
}

double per_second(const RecentSamples<uint64_t>& samples, uint64_t now_ms, uint64_t value_now) {
  const auto* oldest = samples.oldest();
  if (!oldest || now_ms <= oldest->ms || value_now < oldest->value) return 0;
  return double(value_now - oldest->value) * 1000.0 / double(now_ms - oldest->ms);
}

LatencyHistogram recent(const RecentSamples<LatencyHistogram>& samples, const LatencyHistogram& now) {
  const auto* oldest = samples.oldest();
  return oldest ? now.since(oldest->value) : now;
}

LatencyHistogram all_links_rtt(const Snapshot& s) {
  LatencyHistogram all;
  for (const auto& u : s.upstreams)
    for (const auto& l : u.links) all.add(l.tally.rtt);
  return all;
}

void Stats::decided(const policy::Verdict& v) {
  if (v.outcome == policy::Outcome::reject) ++rule_rejected_[size_t(v.rule)];
  for (size_t r = 0; r < rule_flagged_.size(); ++r)
    if (v.flagged & (1u << r)) ++rule_flagged_[r];
}

std::string status_label(uint32_t status) {
  std::string_view name = smpp::status_name(status);
  return name.empty() ? fmt::format("0x{:08X}", status) : std::string(name);
}

namespace {
nlohmann::ordered_json link_json(const LinkSnapshot& l) {
  nlohmann::ordered_json p99 = nullptr;
  if (l.rtt_p99_us) p99 = *l.rtt_p99_us;
  return {{"slot", l.slot}, {"state", l.state}, {"since_unix_ms", l.since_unix_ms}, {"in_flight", l.in_flight},
          {"window", l.window}, {"per_second", l.per_second}, {"rtt_p99_us", p99}, {"sent", l.tally.sent},
          {"accepted", l.tally.accepted}, {"refused", l.tally.refused}, {"failed", l.tally.failed}};
}

nlohmann::ordered_json account_json(const AccountSnapshot& a) {
  auto by_rule = nlohmann::ordered_json::object();
  for (size_t r = 0; r < a.tally.refused_by_rule.size(); ++r)
    if (a.tally.refused_by_rule[r]) by_rule[std::string(policy::rule_id(policy::Rule(r)))] = a.tally.refused_by_rule[r];
  return {{"configured", a.configured}, {"sessions", a.sessions}, {"per_second", a.per_second},
          {"received", a.tally.received}, {"accepted", a.tally.accepted}, {"refused", a.tally.refused},
          {"refused_by_rule", by_rule},
          {"volume_alarm", {{"surge", a.tally.volume_surge}, {"daily_max", a.tally.volume_over_daily_max}}}};
}
}  // namespace

// Built as a JSON value and dumped by nlohmann-json: an account or operator name is any YAML key,
// and a name with a quote or a backslash must not break the document.
std::string Stats::json(const Snapshot& s) const {
  nlohmann::ordered_json j;
  j["version"] = s.version;
  j["uptime_s"] = s.uptime_s;
  j["state_store"] = s.state_store;
  auto& c = j["counters"] = nlohmann::ordered_json::object();
#define X(name, help) c[#name] = counters.name;
#include "proxy/stats/counters.def"
#undef X
  auto& refused = j["refused_by_status"] = nlohmann::ordered_json::object();
  for (const auto& [status, n] : refused_by_status_) refused[status_label(status)] = n;
  auto& rules = j["rules"] = nlohmann::ordered_json::object();
  for (size_t r = 0; r < rule_rejected_.size(); ++r)
    rules[std::string(policy::rule_id(policy::Rule(r)))] = {{"rejected", rule_rejected_[r]}, {"flagged", rule_flagged_[r]}};
  auto& sessions = j["sessions"] = nlohmann::ordered_json::object();
  for (const auto& [account, n] : s.sessions) sessions[account] = n;
  auto& upstreams = j["upstreams"] = nlohmann::ordered_json::object();
  for (const auto& u : s.upstreams) {
    auto& links = (upstreams[u.name] = {{"links_configured", u.links_configured}, {"links_bound", u.links_bound},
                                        {"in_flight", u.in_flight}, {"waiting", u.waiting}})["links"];
    links = nlohmann::ordered_json::array();
    for (const auto& l : u.links) links.push_back(link_json(l));
    upstreams[u.name]["control"] = u.control;
  }
  auto& accounts = j["accounts"] = nlohmann::ordered_json::object();
  for (const auto& a : s.accounts) accounts[a.name] = account_json(a);
  j["policy"] = {{"version", s.policy_version},
                 {"last_reload", {{"unix_ms", s.last_reload_unix_ms}, {"ok", s.last_reload_ok}, {"errors", s.last_reload_errors}}}};
  j["ported"] = {{"numbers", s.ported_numbers}, {"version", s.ported_version}};
#define X(name, help) j[#name] = s.name;
#include "proxy/stats/gauges.def"
#undef X
  const LatencyHistogram rtt = all_links_rtt(s);
  j["upstream_rtt_us"] = {{"count", rtt.count()}, {"sum", rtt.sum_us()}, {"buckets", rtt.buckets()}};
  return dump_json(j) + "\n";
}

std::string Stats::describe() {
  std::string out;
#define X(name, help) out += fmt::format("{:<28} {}\n", #name, help);
#include "proxy/stats/counters.def"
#undef X
  return out;
}

}  // namespace proxy
