// `hajib check` on broken policy files (test/policy/broken/), and the registration and confirmation rules the compiler holds.
// Each broken file says on its first line where its error is and a distinctive part of the message:  # expect: LINE:COLUMN: fragment
// The file must not compile, and a diagnostic at that line:column (1-based) must carry the
// fragment (compared without regard to case).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "policy/saudi_time.h"
#include "policy_fixture.h"

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

struct Expectation {
  int line = 0, column = 0;
  std::string fragment;
};

bool parse_expectation(const std::string& path, Expectation& e) {
  std::ifstream in(path);
  std::string first;
  if (!std::getline(in, first)) return false;
  const std::string prefix = "# expect: ";
  if (first.rfind(prefix, 0) != 0) return false;
  std::string rest = first.substr(prefix.size());
  size_t c1 = rest.find(':'), c2 = c1 == std::string::npos ? c1 : rest.find(':', c1 + 1);
  if (c2 == std::string::npos) return false;
  try {
    e.line = std::stoi(rest.substr(0, c1));
    e.column = std::stoi(rest.substr(c1 + 1, c2 - c1 - 1));
  } catch (...) {
    return false;
  }
  e.fragment = rest.substr(c2 + 1);
  e.fragment.erase(0, e.fragment.find_first_not_of(' '));
  while (!e.fragment.empty() && (e.fragment.back() == ' ' || e.fragment.back() == '\r')) e.fragment.pop_back();
  return !e.fragment.empty();
}

}  // namespace

TEST_CASE("hajib check locates every kind of policy error (test/policy/broken/)", "[policy]") {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(HAJIB_SOURCE_DIR "/test/policy/broken"))
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  CHECK(files.size() >= 12);

  for (const auto& file : files) {
    const std::string name = file.filename().string();
    Expectation want;
    if (!parse_expectation(file.string(), want)) {
      FAIL_CHECK(name << ": first line must be `# expect: LINE:COLUMN: message fragment`");
      continue;
    }
    auto loaded = policy_fixture::load_policy_file(file.string());
    const std::string wanted = name + ":" + std::to_string(want.line) + ":" + std::to_string(want.column) + ": " + want.fragment;
    bool found = std::any_of(loaded.diagnostics.begin(), loaded.diagnostics.end(), [&](const policy::Diagnostic& d) {
      return d.line == want.line && d.column == want.column &&
             lower(d.message).find(lower(want.fragment)) != std::string::npos;
    });
    // A file with errors must not yield a table (an unknown account key is found by the config
    // loader, not the compiler; the loader refuses the file then).
    bool compiler_error = loaded.table == nullptr;
    bool loader_only = name == "misspelt_account_key.yaml";
    if (!found || (!compiler_error && !loader_only)) {
      std::string got;
      for (const auto& d : loaded.diagnostics) got += "\n    " + d.to_string();
      if (got.empty()) got = " (no diagnostics)";
      FAIL_CHECK(name << ": expected " << wanted << (compiler_error || loader_only ? "" : " and no table") << "; got"
                      << (loaded.table ? " a table and" : "") << got);
    }
  }
}

TEST_CASE("with the store down, the first needed stateful rule that may not pass blocks the message", "[policy]") {
  auto compile = [](const std::string& yaml) {
    policy::Compiler compiler;
    compiler.add_rules(YAML::Load(yaml)["policy"], "inline.yaml");
    auto table = compiler.finish();
    REQUIRE(table);
    return table;
  };
  // The defaults: throughput passes when the store is down, the others are refused for a retry.
  auto table = compile("policy: { mode: enforce }");
  policy::StateNeeds needs;
  needs.throughput = true;
  CHECK(table->blocking_when_store_down(needs) == policy::Rule::none);
  needs.charge = true;
  CHECK(table->blocking_when_store_down(needs) == policy::Rule::account_balance);
  needs.opt_out = true;  // earlier in rules.def than the balance
  CHECK(table->blocking_when_store_down(needs) == policy::Rule::recipient_opted_out);
  auto lenient = compile(
      "policy: { rules: { recipient.opted_out: { when_store_down: pass }, account.balance: { when_store_down: pass } } }");
  CHECK(lenient->blocking_when_store_down(needs) == policy::Rule::none);
}

namespace {

std::shared_ptr<const policy::Table> compile_yaml(const std::string& yaml) {
  const YAML::Node root = YAML::Load(yaml);
  policy::Compiler compiler;
  if (root["policy"]) compiler.add_rules(root["policy"], "inline.yaml");
  for (const auto& kv : root["accounts"]) compiler.add_account(kv.first.as<std::string>(), kv.second, "inline.yaml");
  auto table = compiler.finish();
  std::string report;
  for (const auto& d : compiler.diagnostics()) report += d.to_string() + "\n";
  INFO(report);
  REQUIRE(table);
  return table;
}

policy::Verdict decide_at_ten(const policy::Table& table, std::string_view account, std::string_view source, std::string_view text) {
  policy::Message m;
  m.account = account;
  m.source = source;
  m.destination = "966501234567";
  m.text = text;
  policy::Context c;
  c.unix_seconds = *policy::parse_instant("2026-11-22T10:00:00+03:00");
  return table.decide(m, c);
}

}  // namespace

TEST_CASE("policy.permissions is where a government promotional sender is allowed: it then compiles and sends", "[policy]") {
  auto table = compile_yaml(R"(
policy: { permissions: { government: [ promotional, service, awareness, warning ] } }
accounts:
  moh: { entity: government, promotional_via_smpp: true, senders: { MOH-AD: promotional } }
)");
  auto v = decide_at_ten(*table, "moh", "MOH-AD", "Ministry of Health events this week");
  CHECK(v.outcome == policy::Outcome::accept);
}

TEST_CASE("class.not_permitted stays the run-time guard: with class.personal off, a person's message is a class no entity may send", "[policy]") {
  auto table = compile_yaml(R"(
policy: { rules: { class.personal: { action: off } } }
accounts:
  acme: { entity: private, senders: { ACME: service } }
)");
  auto v = decide_at_ten(*table, "acme", "966551234567", "Hi, call me back");
  CHECK(v.outcome == policy::Outcome::reject);
  CHECK(v.rule == policy::Rule::class_not_permitted);
}

TEST_CASE("every sender its entity may not send is reported, each at its own line", "[policy]") {
  policy::Compiler compiler;
  compiler.add_account("globex", YAML::Load("entity: foreign\nsenders:\n  GLOBEX: service\n  GLOBEX-AD: promotional\n  GLOBEX-INFO: awareness\n"),
                       "inline.yaml");
  CHECK_FALSE(compiler.finish());
  std::vector<int> lines;
  for (const auto& d : compiler.diagnostics()) lines.push_back(d.line);
  CHECK(lines == std::vector<int>{4, 5});
}

TEST_CASE("confirmations: in the user's language, naming the account's official name in it, else its confirmation sender", "[policy]") {
  auto table = compile_yaml(R"(
policy:
  opt_out: { confirm_stop: "Stopped: {sender}.", confirm_start_ar: "عاد اشتراكك في رسائل {account}." }
accounts:
  acme: { entity: private, senders: { ACME: service }, confirmation_sender: ACME, official_names: [ "ACME Trading", "أكمي" ] }
  plain: { entity: private, senders: { PLAIN: service }, confirmation_sender: PLAIN }
)");
  std::string sender, text;
  REQUIRE(table->confirmation("acme", policy::OptOutWord::stop, policy::Language::english, sender, text));
  CHECK(sender == "ACME");
  CHECK(text == "Stopped: ACME Trading.");
  REQUIRE(table->confirmation("acme", policy::OptOutWord::start, policy::Language::arabic, sender, text));
  CHECK(text == "عاد اشتراكك في رسائل أكمي.");  // {account} is the older spelling of {sender}
  REQUIRE(table->confirmation("acme", policy::OptOutWord::stop, policy::Language::arabic, sender, text));
  CHECK(text == "لن تصلك بعد الآن رسائل ترويجية من أكمي.");  // the shipped Arabic text
  REQUIRE(table->confirmation("plain", policy::OptOutWord::stop, policy::Language::arabic, sender, text));
  CHECK(text == "لن تصلك بعد الآن رسائل ترويجية من PLAIN.");
  CHECK(policy::language_of("إيقاف") == policy::Language::arabic);
  CHECK(policy::language_of("STOP") == policy::Language::english);
}
