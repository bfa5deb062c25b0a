// proxy/stats: what the NOC's port prints stays well formed whatever an account or operator is named.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "proxy/stats/stats.h"

namespace {

proxy::Snapshot named_oddly() {
  proxy::Snapshot s;
  s.version = "test";
  s.state_store = "redis up";
  s.sessions["ac\"me\\"] = 2;
  s.sessions["line\nbreak"] = 1;
  proxy::UpstreamSnapshot u;
  u.name = "st\"c";
  u.links_configured = 2;
  u.links_bound = 1;
  s.upstreams.push_back(u);
  return s;
}

}  // namespace

TEST_CASE("GET /stats is valid JSON with an account named ac\"me\\ and an operator named st\"c") {
  proxy::Stats stats;
  ++stats.counters.submits_received;
  const auto j = nlohmann::json::parse(stats.json(named_oddly()));
  CHECK(j["sessions"]["ac\"me\\"] == 2);
  CHECK(j["sessions"]["line\nbreak"] == 1);
  CHECK(j["upstreams"]["st\"c"]["links_bound"] == 1);
  CHECK(j["counters"]["submits_received"] == 1);
  CHECK(j["state_store"] == "redis up");
}

TEST_CASE("GET /metrics escapes label values as the Prometheus text format asks") {
  proxy::Stats stats;
  const std::string text = stats.prometheus(named_oddly());
  CHECK(text.find("hajib_customer_sessions{account=\"ac\\\"me\\\\\"} 2\n") != std::string::npos);
  CHECK(text.find("hajib_customer_sessions{account=\"line\\nbreak\"} 1\n") != std::string::npos);
  CHECK(text.find("hajib_upstream_links_bound{upstream=\"st\\\"c\"} 1\n") != std::string::npos);
  // Every line is a comment or one sample: no name opened a line of its own.
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end - at);
    INFO(line);
    CHECK((line.rfind("# ", 0) == 0 || line.rfind("hajib_", 0) == 0));
    at = end + 1;
  }
}
