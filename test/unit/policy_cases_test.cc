// The policy cases as data: test/policy/cases.txt decided against test/policy/policy.yaml.
// Every line is checked (one run shows every failing line as cases.txt:LINE).
#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "policy/message.h"
#include "policy/saudi_time.h"
#include "policy/table.h"
#include "policy_fixture.h"

namespace {

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

// \u{XXXX} -> the character; everything else as written.
std::optional<std::string> unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, 3, "\\u{") == 0) {
      size_t close = s.find('}', i);
      if (close == std::string::npos || close == i + 3) return std::nullopt;
      uint32_t cp = 0;
      for (size_t j = i + 3; j < close; ++j) {
        char c = s[j];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (v < 0) return std::nullopt;
        cp = cp * 16 + uint32_t(v);
      }
      if (cp > 0x10FFFF) return std::nullopt;
      append_utf8(out, cp);
      i = close + 1;
    } else {
      out += s[i++];
    }
  }
  return out;
}


const char* outcome_name(policy::Outcome o) {
  switch (o) {
    case policy::Outcome::accept: return "accept";
    case policy::Outcome::flag: return "flag";
    case policy::Outcome::reject: return "reject";
    case policy::Outcome::hold: return "hold";
  }
  return "?";
}

std::optional<policy::Outcome> parse_outcome(const std::string& s) {
  if (s == "accept") return policy::Outcome::accept;
  if (s == "flag") return policy::Outcome::flag;
  if (s == "reject") return policy::Outcome::reject;
  if (s == "hold") return policy::Outcome::hold;
  return std::nullopt;
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t bar = line.find(sep, start);
    parts.push_back(trim(std::string_view(line).substr(start, bar == std::string::npos ? std::string::npos : bar - start)));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return parts;
}

}  // namespace

TEST_CASE("policy cases as data: test/policy/cases.txt against test/policy/policy.yaml", "[policy]") {
  const std::string dir = HAJIB_SOURCE_DIR "/test/policy/";
  auto loaded = policy_fixture::load_policy_file(dir + "policy.yaml");
  {
    INFO("diagnostics:\n" << loaded.report());
    REQUIRE(loaded.table);
    CHECK(loaded.diagnostics.empty());
  }
  const policy::Table& table = *loaded.table;

  std::ifstream in(dir + "cases.txt");
  REQUIRE(in);
  std::string raw;
  int line_no = 0, cases = 0, failures = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    const std::string where = "cases.txt:" + std::to_string(line_no) + ": ";
    auto cols = split(line, '|');
    if (cols.size() != 7) {
      FAIL_CHECK(where << "expected 7 columns separated by |, found " << cols.size());
      ++failures;
      continue;
    }
    auto text = unescape(cols[3]);
    auto instant = policy::parse_instant(cols[4]);
    auto want = parse_outcome(cols[5]);
    std::string want_rule = cols[6];
    // A hold names when it is released: "time.quiet_hours -> 2026-11-23T09:00:00+03:00".
    std::optional<int64_t> want_release;
    if (want == policy::Outcome::hold) {
      size_t arrow = want_rule.find(" -> ");
      if (arrow != std::string::npos) want_release = policy::parse_instant(trim(std::string_view(want_rule).substr(arrow + 4)));
      if (!want_release) {
        FAIL_CHECK(where << "a hold names its release instant: RULE -> 2026-11-23T09:00:00+03:00: " << line);
        ++failures;
        continue;
      }
      want_rule = trim(std::string_view(want_rule).substr(0, arrow));
    }
    if (!text || !instant || !want || want_rule.empty() || (*want == policy::Outcome::accept) != (want_rule == "-")) {
      FAIL_CHECK(where << "malformed case (text escape, instant with offset, outcome accept|flag|reject, rule or -): " << line);
      ++failures;
      continue;
    }
    ++cases;
    policy::Message message;
    message.account = cols[0];
    message.source = cols[1];
    message.destination = cols[2];
    if (*text == "<binary>") {
      message.text = "";
      message.text_inspectable = false;
    } else {
      message.text = *text;
    }
    policy::Context context;
    context.unix_seconds = *instant;
    policy::Verdict v = table.decide(message, context);

    std::string got_rule = v.rule == policy::Rule::none ? "-" : std::string(policy::rule_id(v.rule));
    // An accept must not name a rule; a flag or reject must name the rule that decided.
    if (v.outcome == policy::Outcome::accept && v.rule != policy::Rule::none) got_rule += " (rule set on accept)";
    if (v.outcome == policy::Outcome::hold) got_rule += " -> " + policy::saudi_iso(v.hold_until_s);
    if (want_release) want_rule += " -> " + policy::saudi_iso(*want_release);
    bool ok = v.outcome == *want && got_rule == want_rule;
    if (ok && *want == policy::Outcome::reject) ok = v.status != 0;  // a refusal carries an SMPP status
    if (!ok) {
      ++failures;
      FAIL_CHECK(where << "expected " << cols[5] << " " << want_rule << ", got " << outcome_name(v.outcome) << " "
                       << got_rule << (v.outcome == policy::Outcome::reject && v.status == 0 ? " (status 0)" : "")
                       << "\n    " << line);
    }
  }
  INFO(cases << " cases run, " << failures << " failing");
  CHECK(cases > 60);
  CHECK(failures == 0);
}
