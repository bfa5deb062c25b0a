// The NOC's status page (proxy/stats/status_page.h): rendered on the loop from a snapshot, no
// script and nothing fetched from elsewhere, so it works from a jump host with no Internet.
// Every name in it (accounts, operators, versions) comes from a config or a peer: escaped.
#include "proxy/stats/status_page.h"

#include <fmt/format.h>

#include <ctime>
#include <iterator>

namespace proxy {

namespace {
constexpr int kRefreshSeconds = 5;

constexpr std::string_view kStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
p.asof { color: #666; margin: 0 0 1em; }
table { border-collapse: collapse; } th, td { padding: .25em .8em; border-bottom: 1px solid #ddd; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.service th { font-weight: normal; color: #555; }
.good { color: #17702f; font-weight: 600; } .warn { color: #9a6200; font-weight: 600; } .bad { color: #b3261e; font-weight: 600; }
)";

std::string_view state_class(std::string_view state) {
  if (state == "bound" || state == "redis up" || state == "memory" || state == "ok") return "good";
  if (state == "connecting" || state == "closing") return "warn";
  return "bad";
}

std::string ago_text(int64_t then_ms, int64_t now_ms) {
  if (then_ms <= 0) return "";
  return fmt::format(" ({} ago)", duration_text(uint64_t(std::max<int64_t>(0, now_ms - then_ms) / 1000)));
}

std::string rate_text(double per_second) { return fmt::format("{:.1f}", per_second); }

std::string latency_text(const std::optional<double>& us) {
  if (!us) return "&mdash;";
  if (*us < 1000) return fmt::format("{:.0f}&nbsp;&micro;s", *us);
  return fmt::format("{:.1f}&nbsp;ms", *us / 1000);
}

std::string refusals_by_rule(const AccountTally& t) {
  std::string out;
  for (size_t r = 0; r < t.refused_by_rule.size(); ++r) {
    if (!t.refused_by_rule[r]) continue;
    if (!out.empty()) out += "<br>";
    out += fmt::format("{} {}", html_escaped(policy::rule_id(policy::Rule(r))), t.refused_by_rule[r]);
  }
  return out.empty() ? "&mdash;" : out;
}

void service_table(const Snapshot& s, std::string& out) {
  auto row = [&](std::string_view label, std::string_view value) {
    fmt::format_to(std::back_inserter(out), "<tr><th>{}</th><td>{}</td></tr>\n", label, value);
  };
  out += "<table class=\"service\" id=\"service\">\n";
  row("Version", html_escaped(s.version));
  row("Uptime", duration_text(s.uptime_s));
  const std::string store = html_escaped(s.state_store);
  row("State store", fmt::format("<span class=\"{}\">{}</span>", state_class(s.state_store), store));
  row("Policy version", html_escaped(s.policy_version));
  const std::string result = s.last_reload_ok ? "ok" : fmt::format("failed: {} errors, the previous policy stays", s.last_reload_errors);
  row("Last reload", fmt::format("{}{} &mdash; <span class=\"{}\">{}</span>", utc_text(s.last_reload_unix_ms),
                                 ago_text(s.last_reload_unix_ms, s.now_unix_ms), s.last_reload_ok ? "good" : "bad", result));
  out += "</table>\n";
}

void links_table(const Snapshot& s, std::string& out) {
  out += "<h2>Operator links</h2>\n<table id=\"links\">\n<thead><tr><th>Operator</th><th>Link</th><th>State</th>"
         "<th>Since</th><th>Window</th><th>msg/s</th><th>RTT p99</th></tr></thead>\n<tbody>\n";
  for (const auto& u : s.upstreams)
    for (const auto& l : u.links)
      fmt::format_to(std::back_inserter(out),
                     "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"{}\">{}</td><td>{}{}</td><td class=\"n\">{} / {}</td>"
                     "<td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
                     html_escaped(u.name), l.slot + 1, state_class(l.state),
                     html_escaped(u.control == "running" ? l.state : fmt::format("{} ({} by ops)", l.state, u.control)),
                     utc_text(l.since_unix_ms),
                     ago_text(l.since_unix_ms, s.now_unix_ms), l.in_flight, l.window, rate_text(l.per_second),
                     latency_text(l.rtt_p99_us));
  out += "</tbody>\n</table>\n";
}

void accounts_table(const Snapshot& s, std::string& out) {
  out += "<h2>Accounts</h2>\n<table id=\"accounts\">\n<thead><tr><th>Account</th><th>Sessions</th><th>msg/s</th>"
         "<th>Accepted</th><th>Refused</th><th>Refusals by rule</th></tr></thead>\n<tbody>\n";
  for (const auto& a : s.accounts)
    fmt::format_to(std::back_inserter(out),
                   "<tr><td>{}{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                   "<td>{}</td></tr>\n",
                   html_escaped(a.name), a.configured ? "" : " (removed)", a.sessions, rate_text(a.per_second),
                   a.tally.accepted, a.tally.refused, refusals_by_rule(a.tally));
  out += "</tbody>\n</table>\n";
}
}  // namespace

std::string html_escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string duration_text(uint64_t s) {
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m {:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h {:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d {}h", s / 86400, s % 86400 / 3600);
}

std::string utc_text(int64_t unix_ms) {
  if (unix_ms <= 0) return "&mdash;";
  const time_t t = time_t(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

std::string status_page(const Snapshot& s) {
  std::string out;
  fmt::format_to(std::back_inserter(out),
                 "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<meta http-equiv=\"refresh\" content=\"{}\">\n<title>Hajib status</title>\n<style>{}</style>\n</head>\n<body>\n"
                 "<h1>Hajib</h1>\n<p class=\"asof\">As of {}; this page reloads itself every {} s.</p>\n",
                 kRefreshSeconds, kStyle, utc_text(s.now_unix_ms), kRefreshSeconds);
  service_table(s, out);
  links_table(s, out);
  accounts_table(s, out);
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace proxy
