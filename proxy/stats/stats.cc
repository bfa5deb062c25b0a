// JSON and Prometheus renderings of the counters table.
#include "proxy/stats/stats.h"

#include <fmt/format.h>

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
}  // namespace

std::string Stats::json(const Snapshot& s) const {
  std::string out = fmt::format("{{\"version\":\"{}\",\"uptime_s\":{},\"state_store\":\"{}\",\"counters\":{{", s.version,
                                s.uptime_s, s.state_store);
  const char* sep = "";
#define X(name, help)                                           \
  out += fmt::format("{}\"{}\":{}", sep, #name, counters.name); \
  sep = ",";
#include "proxy/stats/counters.def"
#undef X
  out += "},\"refused_by_status\":{";
  sep = "";
  for (const auto& [status, n] : refused_by_status_) {
    out += fmt::format("{}\"{}\":{}", sep, status_label(status), n);
    sep = ",";
  }
  out += "},\"rules\":{";
  for (size_t r = 0; r < rule_rejected_.size(); ++r)
    out += fmt::format("{}\"{}\":{{\"rejected\":{},\"flagged\":{}}}", r ? "," : "", policy::rule_id(policy::Rule(r)),
                       rule_rejected_[r], rule_flagged_[r]);
  out += "},\"sessions\":{";
  sep = "";
  for (const auto& [account, n] : s.sessions) {
    out += fmt::format("{}\"{}\":{}", sep, account, n);
    sep = ",";
  }
  out += "},\"upstreams\":{";
  sep = "";
  for (const auto& u : s.upstreams) {
    out += fmt::format("{}\"{}\":{{\"links_configured\":{},\"links_bound\":{},\"in_flight\":{},\"waiting\":{}}}", sep,
                       u.name, u.links_configured, u.links_bound, u.in_flight, u.waiting);
    sep = ",";
  }
  out += fmt::format("}},\"ported\":{{\"numbers\":{},\"version\":\"{}\"}}", s.ported_numbers, s.ported_version);
#define X(name, help) out += fmt::format(",\"{}\":{}", #name, s.name);
#include "proxy/stats/gauges.def"
#undef X
  out += fmt::format(",\"upstream_rtt_us\":{{\"count\":{},\"sum\":{},\"buckets\":[", upstream_rtt.count(),
                     upstream_rtt.sum_us());
  for (size_t i = 0; i < upstream_rtt.buckets().size(); ++i)
    out += fmt::format("{}{}", i ? "," : "", upstream_rtt.buckets()[i]);
  out += "]}}\n";
  return out;
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
  for (const auto& [account, n] : s.sessions) out += fmt::format("hajib_customer_sessions{{account=\"{}\"}} {}\n", account, n);
  out += "# HELP hajib_upstream_links_bound bound links per operator\n# TYPE hajib_upstream_links_bound gauge\n";
  for (const auto& u : s.upstreams) out += fmt::format("hajib_upstream_links_bound{{upstream=\"{}\"}} {}\n", u.name, u.links_bound);
  out += "# HELP hajib_upstream_in_flight submits sent to an operator and not yet answered\n# TYPE hajib_upstream_in_flight gauge\n";
  for (const auto& u : s.upstreams) out += fmt::format("hajib_upstream_in_flight{{upstream=\"{}\"}} {}\n", u.name, u.in_flight);
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
