// proxy/stats: what the NOC's port prints stays well formed whatever an account or operator is
// named, and the numbers it computes (recent rates, percentiles from buckets, refusals by rule,
// the process's figures) are the right ones.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "proxy/stats/process.h"
#include "proxy/stats/stats.h"
#include "proxy/stats/status_page.h"

namespace {

proxy::Snapshot named_oddly() {
  proxy::Snapshot s;
  s.version = "test";
  s.state_store = "redis up";
  s.policy_version = "v\"1<i>";
  s.sessions["ac\"me\\"] = 2;
  s.sessions["line\nbreak"] = 1;
  s.sessions["ac\"me<b>"] = 1;
  for (const char* name : {"ac\"me\\", "ac\"me<b>"}) {
    proxy::AccountSnapshot a;
    a.name = name;
    a.sessions = 1;
    a.tally.received = 7;
    a.tally.accepted = 5;
    a.tally.refused = 2;
    a.tally.refused_by_rule[size_t(policy::Rule::time_quiet_hours)] = 2;
    s.accounts.push_back(a);
  }
  proxy::UpstreamSnapshot u;
  u.name = "st\"c";
  u.links_configured = 2;
  u.links_bound = 1;
  proxy::LinkSnapshot link;
  link.state = "bound";
  link.window = 10;
  link.tally.sent = 3;
  link.tally.rtt.record(400);
  u.links.push_back(link);
  link.slot = 1;
  link.state = "down";
  link.tally = {};
  link.tally.rtt.record(700);
  u.links.push_back(link);
  s.upstreams.push_back(u);
  return s;
}

bool has_line(const std::string& text, const std::string& line) { return text.find("\n" + line + "\n") != std::string::npos; }

}  // namespace

TEST_CASE("GET /stats is valid JSON with an account named ac\"me\\ and an operator named st\"c") {
  proxy::Stats stats;
  ++stats.counters.submits_received;
  const auto j = nlohmann::json::parse(stats.json(named_oddly()));
  CHECK(j["sessions"]["ac\"me\\"] == 2);
  CHECK(j["sessions"]["line\nbreak"] == 1);
  CHECK(j["upstreams"]["st\"c"]["links_bound"] == 1);
  CHECK(j["upstreams"]["st\"c"]["links"][1]["state"] == "down");
  CHECK(j["accounts"]["ac\"me\\"]["refused_by_rule"]["time.quiet_hours"] == 2);
  CHECK(j["counters"]["submits_received"] == 1);
  CHECK(j["state_store"] == "redis up");
  CHECK(j["upstream_rtt_us"]["count"] == 2);  // every link's round trips
}

TEST_CASE("GET /metrics escapes label values as the Prometheus text format asks") {
  proxy::Stats stats;
  const std::string text = stats.prometheus(named_oddly());
  CHECK(text.find("hajib_customer_sessions{account=\"ac\\\"me\\\\\"} 2\n") != std::string::npos);
  CHECK(text.find("hajib_customer_sessions{account=\"line\\nbreak\"} 1\n") != std::string::npos);
  CHECK(text.find("hajib_upstream_links_bound{upstream=\"st\\\"c\"} 1\n") != std::string::npos);
  CHECK(text.find("hajib_account_submits_received_total{account=\"ac\\\"me\\\\\"} 7\n") != std::string::npos);
  CHECK(text.find("hajib_policy_info{version=\"v\\\"1<i>\"} 1\n") != std::string::npos);
  // Every line is a comment or one sample: no name opened a line of its own.
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end - at);
    INFO(line);
    CHECK((line.rfind("# ", 0) == 0 || line.rfind("hajib_", 0) == 0 || line.rfind("process_", 0) == 0));
    at = end + 1;
  }
}

TEST_CASE("GET /metrics: counters by account and by rule, RTT per operator, build info, last reload") {
  proxy::Stats stats;
  proxy::Snapshot s = named_oddly();
  s.last_reload_ok = false;
  s.last_reload_unix_ms = 1796040000500;
  const std::string text = stats.prometheus(s);
  CHECK(has_line(text, "hajib_account_refused_by_rule_total{account=\"ac\\\"me<b>\",rule=\"time.quiet_hours\"} 2"));
  CHECK(has_line(text, "hajib_account_refused_by_rule_total{account=\"ac\\\"me<b>\",rule=\"class.personal\"} 0"));
  CHECK(has_line(text, "hajib_upstream_submits_sent_total{upstream=\"st\\\"c\"} 3"));
  CHECK(has_line(text, "hajib_upstream_operator_rtt_seconds_count{upstream=\"st\\\"c\"} 2"));
  CHECK(has_line(text, "hajib_upstream_operator_rtt_seconds_bucket{upstream=\"st\\\"c\",le=\"0.0005\"} 1"));
  CHECK(has_line(text, "hajib_upstream_operator_rtt_seconds_bucket{upstream=\"st\\\"c\",le=\"+Inf\"} 2"));
  CHECK(has_line(text, "hajib_upstream_rtt_seconds_count 2"));
  CHECK(has_line(text, "hajib_build_info{version=\"test\"} 1"));
  CHECK(has_line(text, "hajib_last_reload_success 0"));
  CHECK(has_line(text, "hajib_last_reload_timestamp_seconds 1796040000.5"));
  CHECK(has_line(text, "# TYPE process_resident_memory_bytes gauge"));
}

TEST_CASE("msg/s is the increase over the samples of the last ten seconds, not since start") {
  proxy::RecentSamples<uint64_t> samples;
  CHECK(proxy::per_second(samples, 1000, 50) == 0);  // nothing sampled yet
  uint64_t count = 0;
  for (uint64_t ms = 0; ms <= 60000; ms += 1000) {
    samples.take(ms, count);
    count += ms < 30000 ? 1000 : 20;  // a burst, then 20 a second
  }
  // Samples are kept for the last ten seconds only: the burst is gone from the rate.
  CHECK(proxy::per_second(samples, 60000, count - 20) == Approx(20));
  CHECK(proxy::per_second(samples, 60500, count) == Approx(20 * 11 / 10.5));
}

TEST_CASE("RTT p99 from buckets: interpolated inside its bucket as histogram_quantile does") {
  proxy::LatencyHistogram h;
  CHECK_FALSE(h.quantile_us(0.99).has_value());  // no answer: no figure
  for (int i = 0; i < 98; ++i) h.record(200);  // (100, 250] µs
  h.record(3000);  // (2500, 5000] µs
  h.record(4000);
  // rank 99 of 100: the first of the two in (2500, 5000], halfway through it.
  CHECK(*h.quantile_us(0.99) == Approx(3750));
  CHECK(*h.quantile_us(0.5) == Approx(100 + 150 * 50.0 / 98));
  proxy::LatencyHistogram slow;
  slow.record(9'000'000);  // above the last bound: the last bound is all that can be said
  CHECK(*slow.quantile_us(0.99) == Approx(2'000'000));
}

TEST_CASE("RTT p99 on the status page is over the last ten seconds: older answers leave it") {
  proxy::LatencyHistogram h;
  proxy::RecentSamples<proxy::LatencyHistogram> samples;
  for (int i = 0; i < 100; ++i) h.record(1'500'000);  // a slow minute, long ago
  for (uint64_t ms = 0; ms <= 20000; ms += 1000) {
    samples.take(ms, h);
    h.record(300);
  }
  const proxy::LatencyHistogram last = proxy::recent(samples, h);
  CHECK(last.count() == 11);
  CHECK(*last.quantile_us(0.99) < 500);
}

TEST_CASE("refusals by rule: a refusal counts against its rule and its account; a flag against neither account nor refusals") {
  proxy::Stats stats;
  proxy::AccountTally acme;
  policy::Verdict refused;
  refused.outcome = policy::Outcome::reject;
  refused.rule = policy::Rule::content_link_domain;
  stats.decided(refused, &acme);
  stats.decided(refused, nullptr);  // the proxy's own message: no account
  policy::Verdict flagged;
  flagged.outcome = policy::Outcome::flag;
  flagged.rule = policy::Rule::otp_no_reason;
  flagged.flagged = 1u << size_t(policy::Rule::otp_no_reason);
  stats.decided(flagged, &acme);
  CHECK(acme.refused_by_rule[size_t(policy::Rule::content_link_domain)] == 1);
  CHECK(acme.refused_by_rule[size_t(policy::Rule::otp_no_reason)] == 0);
  CHECK(stats.rule_rejected(size_t(policy::Rule::content_link_domain)) == 2);
  CHECK(stats.rule_flagged(size_t(policy::Rule::otp_no_reason)) == 1);
}

TEST_CASE("the status page shows a hostile account name as text, never as markup") {
  const std::string page = proxy::status_page(named_oddly());
  CHECK(page.find("<td>ac&quot;me&lt;b&gt;</td>") != std::string::npos);
  CHECK(page.find("<b>") == std::string::npos);
  CHECK(page.find("v&quot;1&lt;i&gt;") != std::string::npos);
  CHECK(page.find("<i>") == std::string::npos);
  CHECK(page.find("st&quot;c") != std::string::npos);
  CHECK(page.find("<meta http-equiv=\"refresh\" content=\"5\">") != std::string::npos);
  CHECK(page.find("time.quiet_hours 2") != std::string::npos);
  CHECK(page.find("http", page.find("http-equiv") + 1) == std::string::npos);  // nothing fetched from elsewhere
  CHECK(page.find("src=") == std::string::npos);
}

TEST_CASE("process figures: /proc/self/stat read past a command name with spaces and parentheses") {
  // pid (comm) state ppid ... utime(14) stime(15) ... starttime(22) vsize(23) rss(24)
  const std::string line =
      "4242 (hajib (a) b) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 1 0 5000 104857600 2560 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
  const proxy::ProcessFigures f = proxy::parse_proc_stat(line, 100, 4096, 1796000000);
  CHECK(*f.cpu_seconds == Approx(4.0));
  CHECK(*f.start_time_seconds == Approx(1796000050.0));
  CHECK(*f.virtual_memory_bytes == Approx(104857600));
  CHECK(*f.resident_memory_bytes == Approx(2560.0 * 4096));
  CHECK_FALSE(proxy::parse_proc_stat("garbage", 100, 4096, 0).cpu_seconds.has_value());
  CHECK_FALSE(proxy::parse_proc_stat(line, 100, 4096, std::nullopt).start_time_seconds.has_value());
}

TEST_CASE("durations and times read as a person says them") {
  CHECK(proxy::duration_text(42) == "42s");
  CHECK(proxy::duration_text(3 * 60 + 5) == "3m 05s");
  CHECK(proxy::duration_text(2 * 3600 + 5 * 60 + 9) == "2h 05m");
  CHECK(proxy::duration_text(3 * 86400 + 4 * 3600) == "3d 4h");
  CHECK(proxy::utc_text(1796040000500) == "2026-11-30 12:00:00 UTC");
}
