// Audit and log lines: every field escaped by the JSON library, numbers masked to the country code and a few digits.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "proxy/submit/audit_log.h"
#include "proxy/config/config.h"
#include "proxy/log.h"

namespace {

struct TempFile {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("hajib-audit-" + std::to_string(::getpid()) + ".log");
  ~TempFile() { std::filesystem::remove(path); }
  std::vector<std::string> lines() const {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
};

}  // namespace

TEST_CASE("a destination that carries a quote and a newline stays one JSON line") {
  TempFile f;
  proxy::AuditLog log;
  REQUIRE(log.open(f.path.string(), false));
  proxy::AuditLog::Decision d;
  d.account = "acme";
  d.sender = "ACME\r\n{\"forged\":1}";
  d.recipient = "\"}\n{\"a\":\"x";
  d.verdict = "reject";
  d.rule = "destination.invalid";
  d.operator_message_id = std::string_view("\x01\xff\xfe", 3);  // control and not UTF-8
  log.decision(d);
  log.flush();
  auto lines = f.lines();
  REQUIRE(lines.size() == 1);
  auto j = nlohmann::json::parse(lines[0]);
  CHECK(j["recipient"] == "\"}\n{\"a\":\"x");
  CHECK(j["sender"] == "ACME\r\n{\"forged\":1}");
  CHECK(j["event"] == "decision");
  CHECK_FALSE(j.contains("a"));
}

TEST_CASE("masked numbers keep the country code and the last 4 digits, or fewer when configured") {
  using proxy::AuditLog;
  CHECK(AuditLog::mask("966501234567") == "966*****4567");
  CHECK(AuditLog::mask("966501234567", 2) == "966*******67");
  CHECK(AuditLog::mask("966501234567", 0) == "966*********");
  CHECK(AuditLog::mask("0501234567") == "******4567");  // not normalised: no country code to keep
  CHECK(AuditLog::mask("12") == "12");
  CHECK(AuditLog::mask("") == "");
  CHECK(AuditLog::mask("\"}\n{\"a\":\"x") == "******\":\"x");
}

TEST_CASE("the audit log masks recipients as configured") {
  TempFile f;
  proxy::AuditLog log;
  REQUIRE(log.open(f.path.string(), true, 3));
  proxy::AuditLog::Decision d;
  d.recipient = "966501234567";
  log.decision(d);
  log.event(0, "opt_out", {{"account", "acme"}, {"recipient", log.masked("966551234567")}});
  log.flush();
  auto lines = f.lines();
  REQUIRE(lines.size() == 2);
  CHECK(nlohmann::json::parse(lines[0])["recipient"] == "966******567");
  auto event = nlohmann::json::parse(lines[1]);
  CHECK(event["event"] == "opt_out");
  CHECK(event["recipient"] == "966******567");
  CHECK(lines[1].find(R"({"time":"1970-01-01T00:00:00.000Z","event":"opt_out","account":"acme")") == 0);  // order kept
}

TEST_CASE("a peer's string in a log line is one quoted JSON string: no newline, no control byte") {
  CHECK(proxy::json_quoted("acme") == "\"acme\"");
  std::string forged = proxy::json_quoted("x\nhajib: acme bound\r\x1b[2J");
  CHECK(forged.find('\n') == std::string::npos);
  CHECK(forged.find('\r') == std::string::npos);
  CHECK(forged.find('\x1b') == std::string::npos);
  CHECK(nlohmann::json::parse(forged) == "x\nhajib: acme bound\r\x1b[2J");
  CHECK(proxy::json_quoted(std::string_view("\xff", 1)) == "\"\xEF\xBF\xBD\"");  // not UTF-8: replaced, never thrown
}

TEST_CASE("audit.visible_digits is read, and more than 4 is refused") {
  auto dir = std::filesystem::temp_directory_path() / ("hajib-audit-config-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto load = [&](const std::string& audit, std::vector<proxy::ConfigError>& errors) {
    std::ofstream(dir / "hajib.yaml") << "listen: { smpp: \"127.0.0.1:0\", stats: \"127.0.0.1:0\" }\nstate: memory\n"
                                      << "audit: " << audit << "\n"
                                      << "upstreams:\n  stc: { host: 127.0.0.1, port: 2776, system_id: hajib, password: pw }\n"
                                      << "routes:\n  prefixes: { \"96650\": stc }\n";
    return proxy::load_config((dir / "hajib.yaml").string(), errors);
  };
  std::vector<proxy::ConfigError> errors;
  auto config = load("{ mask_numbers: true, visible_digits: 2 }", errors);
  REQUIRE(config);
  CHECK(config->audit_visible_digits == 2);
  CHECK_FALSE(load("{ visible_digits: 5 }", errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].message == "visible_digits must be between 0 and 4");
  std::filesystem::remove_all(dir);
}

// The daemon and an ops command append to one file at once: were a buffer written when full,
// mid-line, the other writer's lines would land inside that line. Two logs on one file, each
// filling its buffer several times over before the other flushes, must leave only whole lines.
TEST_CASE("two writers on one audit log never split each other's lines") {
  TempFile f;
  proxy::AuditLog daemon, ops;
  REQUIRE(daemon.open(f.path.string(), true));
  REQUIRE(ops.open(f.path.string(), true));
  const std::string padding(97, 'x');  // a line length that does not divide any buffer size
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 2000; ++i) daemon.event(0, "daemon", {{"i", i}, {"pad", padding}});
    for (int i = 0; i < 2000; ++i) ops.event(0, "ops", {{"i", i}, {"pad", padding}});
  }
  daemon.flush();
  ops.flush();
  auto lines = f.lines();
  REQUIRE(lines.size() == 12000);
  size_t broken = 0;
  for (const auto& line : lines)
    if (!nlohmann::json::accept(line)) ++broken;
  CHECK(broken == 0);
  CHECK(daemon.writes() > 1);  // the buffer did fill between ticks, the case above the edge it tests
}
