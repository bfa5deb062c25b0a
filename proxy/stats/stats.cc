// JSON and Prometheus renderings of the counters table.
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

void Stats::decided(const policy::Verdict& v) {
  if (v.outcome == policy::Outcome::reject) ++rule_rejected_[size_t(v.rule)];
  for (size_t r = 0; r < rule_flagged_.size(); ++r)
    if (v.flagged & (1u << r)) ++rule_flagged_[r];
}

namespace {
std::string status_label(uint32_t status) {
  std::string_view name = smpp::status_name(status);
  return name.empty() ? fmt::format("0x{:08X}", status) : std::string(name);
}

// A label value in the Prometheus text format: backslash, double quote and line feed escaped.
std::string label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') out.append("\\n");
    else out.push_back(c);
  }
  return out;
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
  for (const auto& u : s.upstreams)
    upstreams[u.name] = {{"links_configured", u.links_configured}, {"links_bound", u.links_bound},
                         {"in_flight", u.in_flight}, {"waiting", u.waiting}};
  for (const auto& u : s.upstreams) upstreams[u.name]["control"] = u.control;
  j["ported"] = {{"numbers", s.ported_numbers}, {"version", s.ported_version}};
#define X(name, help) j[#name] = s.name;
#include "proxy/stats/gauges.def"
#undef X
  j["upstream_rtt_us"] = {{"count", upstream_rtt.count()}, {"sum", upstream_rtt.sum_us()}, {"buckets", upstream_rtt.buckets()}};
  return dump_json(j) + "\n";
}

std::string Stats::prometheus(const Snapshot& s) const {
  std::string out;
#define X(name, help) \
  out += fmt::format("# HELP hajib_{0}_total {1}\n# TYPE hajib_{0}_total counter\nhajib_{0}_total {2}\n", #name, help, counters.name);
#include "proxy/stats/counters.def"
#undef X
  out += "# HELP hajib_submits_refused_by_status_total submit_sm refused by the proxy, by status\n"
         "# TYPE hajib_submits_refused_by_status_total counter\n";
  for (const auto& [status, n] : refused_by_status_)
    out += fmt::format("hajib_submits_refused_by_status_total{{status=\"{}\"}} {}\n", status_label(status), n);
  out += "# HELP hajib_policy_rule_total decisions a rule refused or flagged\n# TYPE hajib_policy_rule_total counter\n";
  for (size_t r = 0; r < rule_rejected_.size(); ++r) {
    auto id = policy::rule_id(policy::Rule(r));
    out += fmt::format("hajib_policy_rule_total{{rule=\"{}\",outcome=\"rejected\"}} {}\n", id, rule_rejected_[r]);
    out += fmt::format("hajib_policy_rule_total{{rule=\"{}\",outcome=\"flagged\"}} {}\n", id, rule_flagged_[r]);
  }
  out += "# HELP hajib_customer_sessions bound customer sessions\n# TYPE hajib_customer_sessions gauge\n";
  for (const auto& [account, n] : s.sessions) out += fmt::format("hajib_customer_sessions{{account=\"{}\"}} {}\n", label_value(account), n);
  out += "# HELP hajib_upstream_links_bound bound links per operator\n# TYPE hajib_upstream_links_bound gauge\n";
  for (const auto& u : s.upstreams) out += fmt::format("hajib_upstream_links_bound{{upstream=\"{}\"}} {}\n", label_value(u.name), u.links_bound);
  out += "# HELP hajib_upstream_in_flight submits sent to an operator and not yet answered\n# TYPE hajib_upstream_in_flight gauge\n";
  for (const auto& u : s.upstreams) out += fmt::format("hajib_upstream_in_flight{{upstream=\"{}\"}} {}\n", label_value(u.name), u.in_flight);
#define X(name, help) \
  out += fmt::format("# HELP hajib_{0} {1}\n# TYPE hajib_{0} gauge\nhajib_{0} {2}\n", #name, help, s.name);
#include "proxy/stats/gauges.def"
#undef X
  out += fmt::format("# HELP hajib_state_store_up 1 when the state store answers\n# TYPE hajib_state_store_up gauge\n"
                     "hajib_state_store_up {}\n",
                     s.state_store == "redis down" ? 0 : 1);
  out += "# HELP hajib_upstream_rtt_seconds submit_sm to submit_sm_resp at the operator\n"
         "# TYPE hajib_upstream_rtt_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < LatencyHistogram::kBoundsUs.size(); ++i) {
    cumulative += upstream_rtt.buckets()[i];
    out += fmt::format("hajib_upstream_rtt_seconds_bucket{{le=\"{}\"}} {}\n", double(LatencyHistogram::kBoundsUs[i]) / 1e6,
                       cumulative);
  }
  out += fmt::format("hajib_upstream_rtt_seconds_bucket{{le=\"+Inf\"}} {}\nhajib_upstream_rtt_seconds_sum {}\n"
                     "hajib_upstream_rtt_seconds_count {}\n",
                     upstream_rtt.count(), double(upstream_rtt.sum_us()) / 1e6, upstream_rtt.count());
  return out;
}

std::string Stats::describe() {
  std::string out;
#define X(name, help) out += fmt::format("{:<28} {}\n", #name, help);
#include "proxy/stats/counters.def"
#undef X
  return out;
}

}  // namespace proxy
