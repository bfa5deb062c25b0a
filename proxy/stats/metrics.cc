// GET /metrics: the counters and the snapshot as Prometheus metric families, built at scrape time
// and written by prometheus-cpp's text serializer, which escapes label values (an account named
// ac"me\ is a customer's choice, not ours).
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <limits>
#include <utility>

#include "proxy/stats/process.h"
#include "proxy/stats/stats.h"

namespace proxy {

namespace {
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void add(MetricFamily& f, double value, Labels labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) m.counter.value = value;
  else m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

// A family with one sample per item: sample(item) gives its labels and value.
template <class Items, class Sample>
MetricFamily each(std::string name, std::string help, MetricType type, const Items& items, Sample sample) {
  MetricFamily f = family(std::move(name), std::move(help), type);
  for (const auto& item : items) {
    auto [labels, value] = sample(item);
    add(f, double(value), std::move(labels));
  }
  return f;
}

void add_histogram(MetricFamily& f, const LatencyHistogram& h, Labels labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  m.histogram.sample_count = h.count();
  m.histogram.sample_sum = double(h.sum_us()) / 1e6;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.buckets().size(); ++i) {
    cumulative += h.buckets()[i];
    const double bound = i < LatencyHistogram::kBoundsUs.size() ? double(LatencyHistogram::kBoundsUs[i]) / 1e6
                                                                 : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back({cumulative, bound});
  }
  f.metric.push_back(std::move(m));
}

LatencyHistogram operator_rtt(const UpstreamSnapshot& u) {
  LatencyHistogram all;
  for (const auto& l : u.links) all.add(l.tally.rtt);
  return all;
}

template <class Field>
uint64_t operator_total(const UpstreamSnapshot& u, Field field) {
  uint64_t n = 0;
  for (const auto& l : u.links) n += l.tally.*field;
  return n;
}

void counter_families(const Counters& c, std::vector<MetricFamily>& out) {
#define X(name, help)                                                                      \
  out.push_back(family("hajib_" #name "_total", help, MetricType::Counter)); \
  add(out.back(), double(c.name));
#include "proxy/stats/counters.def"
#undef X
}

void gauge_families(const Snapshot& s, std::vector<MetricFamily>& out) {
#define X(name, help)                                                      \
  out.push_back(family("hajib_" #name, help, MetricType::Gauge)); \
  add(out.back(), double(s.name));
#include "proxy/stats/gauges.def"
#undef X
}

void upstream_families(const Snapshot& s, std::vector<MetricFamily>& out) {
  auto by_upstream = [&](std::string name, std::string help, MetricType type, auto value) {
    out.push_back(each(std::move(name), std::move(help), type, s.upstreams,
                       [&](const UpstreamSnapshot& u) { return std::pair{Labels{{"upstream", u.name}}, value(u)}; }));
  };
  by_upstream("hajib_upstream_links_bound", "bound links per operator", MetricType::Gauge,
              [](const UpstreamSnapshot& u) { return u.links_bound; });
  by_upstream("hajib_upstream_stopped_by_admin", "1 while ops have this operator stopped or draining through the admin API",
              MetricType::Gauge, [](const UpstreamSnapshot& u) { return u.control == "running" ? 0 : 1; });
  by_upstream("hajib_upstream_links_configured", "links configured per operator (upstreams.NAME.sessions)", MetricType::Gauge,
              [](const UpstreamSnapshot& u) { return u.links_configured; });
  by_upstream("hajib_upstream_in_flight", "submits sent to an operator and not yet answered", MetricType::Gauge,
              [](const UpstreamSnapshot& u) { return u.in_flight; });
  by_upstream("hajib_upstream_waiting", "submits waiting for room on an operator's links", MetricType::Gauge,
              [](const UpstreamSnapshot& u) { return u.waiting; });
  by_upstream("hajib_upstream_submits_sent_total", "submit_sm written to an operator", MetricType::Counter,
              [](const UpstreamSnapshot& u) { return operator_total(u, &LinkTally::sent); });
  by_upstream("hajib_upstream_submits_accepted_total", "submit_sm an operator answered OK", MetricType::Counter,
              [](const UpstreamSnapshot& u) { return operator_total(u, &LinkTally::accepted); });
  by_upstream("hajib_upstream_submits_refused_total", "submit_sm an operator answered with an error status",
              MetricType::Counter, [](const UpstreamSnapshot& u) { return operator_total(u, &LinkTally::refused); });
  by_upstream("hajib_upstream_submits_failed_total",
              "submit_sm an operator did not answer: timed out, or its link closed with it unanswered", MetricType::Counter,
              [](const UpstreamSnapshot& u) { return operator_total(u, &LinkTally::failed); });

  MetricFamily all = family("hajib_upstream_rtt_seconds", "submit_sm to submit_sm_resp at the operator", MetricType::Histogram);
  add_histogram(all, all_links_rtt(s));
  out.push_back(std::move(all));
  MetricFamily per = family("hajib_upstream_operator_rtt_seconds", "submit_sm to submit_sm_resp, per operator",
                            MetricType::Histogram);
  for (const auto& u : s.upstreams) add_histogram(per, operator_rtt(u), {{"upstream", u.name}});
  out.push_back(std::move(per));
}

void account_families(const Snapshot& s, std::vector<MetricFamily>& out) {
  out.push_back(each("hajib_customer_sessions", "bound customer sessions", MetricType::Gauge, s.sessions,
                     [](const auto& item) { return std::pair{Labels{{"account", item.first}}, item.second}; }));
  auto by_account = [&](std::string name, std::string help, uint64_t AccountTally::*field) {
    out.push_back(each(std::move(name), std::move(help), MetricType::Counter, s.accounts, [&](const AccountSnapshot& a) {
      return std::pair{Labels{{"account", a.name}}, a.tally.*field};
    }));
  };
  by_account("hajib_account_submits_received_total", "submit_sm received from the account", &AccountTally::received);
  by_account("hajib_account_submits_accepted_total", "submit_sm of the account accepted by an operator", &AccountTally::accepted);
  by_account("hajib_account_submits_refused_total", "submit_sm of the account refused by the proxy, whatever the reason",
             &AccountTally::refused);
  MetricFamily by_rule = family("hajib_account_refused_by_rule_total",
                                "decisions refused by a policy rule, by account (a long message counts once)", MetricType::Counter);
  for (const auto& a : s.accounts)
    for (size_t r = 0; r < a.tally.refused_by_rule.size(); ++r)
      add(by_rule, double(a.tally.refused_by_rule[r]), {{"account", a.name}, {"rule", std::string(policy::rule_id(policy::Rule(r)))}});
  out.push_back(std::move(by_rule));
  MetricFamily alarm = family("hajib_account_volume_alarm",
                              "1 while the account's volume alarm is on: reason surge (volume.surge_factor) or daily_max",
                              MetricType::Gauge);
  MetricFamily raised = family("hajib_account_volume_alarms_total", "volume alarms raised for the account, by reason",
                               MetricType::Counter);
  for (const auto& a : s.accounts) {
    add(alarm, a.tally.volume_surge ? 1 : 0, {{"account", a.name}, {"reason", "surge"}});
    add(alarm, a.tally.volume_over_daily_max ? 1 : 0, {{"account", a.name}, {"reason", "daily_max"}});
    add(raised, double(a.tally.volume_surges), {{"account", a.name}, {"reason", "surge"}});
    add(raised, double(a.tally.volume_daily_max_passed), {{"account", a.name}, {"reason", "daily_max"}});
  }
  out.push_back(std::move(alarm));
  out.push_back(std::move(raised));
}

void service_families(const Snapshot& s, std::vector<MetricFamily>& out) {
  auto gauge = [&](std::string name, std::string help, double value, Labels labels = {}) {
    out.push_back(family(std::move(name), std::move(help), MetricType::Gauge));
    add(out.back(), value, std::move(labels));
  };
  gauge("hajib_build_info", "the running build: 1, labelled with its version", 1, {{"version", s.version}});
  gauge("hajib_policy_info", "the policy table in force: 1, labelled with its version", 1, {{"version", s.policy_version}});
  gauge("hajib_state_store_up", "1 when the state store answers", s.state_store == "redis down" ? 0 : 1);
  gauge("hajib_last_reload_success", "1 when the last load of the files (start-up or SIGHUP) was applied, 0 when it was refused",
        s.last_reload_ok ? 1 : 0);
  gauge("hajib_last_reload_timestamp_seconds", "when the files were last loaded (start-up or SIGHUP), since the epoch",
        double(s.last_reload_unix_ms) / 1e3);
  gauge("hajib_last_reload_errors", "errors found in the files at the last load (0 when it was applied)",
        double(s.last_reload_errors));
}

// The names and meanings every Prometheus client library gives these.
void process_families(std::vector<MetricFamily>& out) {
  const ProcessFigures p = read_process_figures();
  auto figure = [&](std::string name, std::string help, MetricType type, const std::optional<double>& value) {
    if (!value) return;
    out.push_back(family(std::move(name), std::move(help), type));
    add(out.back(), *value);
  };
  figure("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", MetricType::Counter, p.cpu_seconds);
  figure("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge, p.resident_memory_bytes);
  figure("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge, p.virtual_memory_bytes);
  figure("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
         p.start_time_seconds);
  figure("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, p.open_fds);
  figure("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge, p.max_fds);
}
}  // namespace

std::string Stats::prometheus(const Snapshot& s) const {
  std::vector<MetricFamily> out;
  counter_families(counters, out);
  out.push_back(each("hajib_submits_refused_by_status_total", "submit_sm refused by the proxy, by status", MetricType::Counter,
                     refused_by_status_, [](const auto& item) {
                       return std::pair{Labels{{"status", status_label(item.first)}}, item.second};
                     }));
  MetricFamily rules = family("hajib_policy_rule_total", "decisions a rule refused or flagged", MetricType::Counter);
  for (size_t r = 0; r < rule_rejected_.size(); ++r) {
    const std::string id(policy::rule_id(policy::Rule(r)));
    add(rules, double(rule_rejected_[r]), {{"rule", id}, {"outcome", "rejected"}});
    add(rules, double(rule_flagged_[r]), {{"rule", id}, {"outcome", "flagged"}});
  }
  out.push_back(std::move(rules));
  account_families(s, out);
  upstream_families(s, out);
  gauge_families(s, out);
  service_families(s, out);
  process_families(out);
  return prometheus::TextSerializer().Serialize(out);
}

}  // namespace proxy
