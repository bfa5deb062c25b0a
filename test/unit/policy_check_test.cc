// `hajib check` on broken policy files: each file in test/policy/broken/ says on its first line
// where its error is and a distinctive part of the message:  # expect: LINE:COLUMN: fragment
// The file must not compile, and a diagnostic at that line:column (1-based) must carry the
// fragment (compared without regard to case).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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
