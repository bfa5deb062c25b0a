// The compiled policy: YAML in, an immutable decision table out; decide() is pure and allocation-free.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policy/message.h"

namespace YAML {
class Node;
}

namespace policy {

// An error in a policy or config file, where ops will look for it.
struct Diagnostic {
  std::string file;
  int line = 0;  // 1-based; 0 when it concerns the whole file
  int column = 0;
  std::string message;
  std::string to_string() const;  // file:line:column: message
};

struct TableData;  // defined in table.cc: the compiled accounts, windows, patterns

class Table {
 public:
  ~Table();
  // Decides one whole message at one moment. Stateless: it reads only the table. With a
  // trace, records what every rule said (for `hajib explain`).
  Verdict decide(const Message& message, const Context& context, Trace* trace = nullptr) const;

  bool has_account(std::string_view account) const;
  // `policy: { mode: off }`: relay without deciding (benchmarks, emergencies); logged loudly.
  bool enforcing() const;
  // A short fingerprint of the compiled input, logged with every decision.
  const std::string& version() const;
  Action action(Rule r) const;
  uint32_t status(Rule r) const;
  // Saudi calendar days (days since 1970-01-01 in UTC+3) that are in Ramadan, for a Hijri
  // year: [first, last], as compiled (computed, or the override).
  bool ramadan_days(int hijri_year, int64_t& first, int64_t& last) const;

 private:
  friend class Compiler;
  explicit Table(std::unique_ptr<TableData> data);
  std::unique_ptr<TableData> data_;
};

// Turns YAML into a Table. Feed it the `policy:` section of each file and the policy keys of
// each account, then finish(). Every error is collected, with its file, line and column.
class Compiler {
 public:
  Compiler();
  ~Compiler();
  void add_rules(const YAML::Node& policy, const std::string& file);
  void add_account(const std::string& name, const YAML::Node& account, const std::string& file);
  // The account keys this compiler reads (the config loader reports any other key it does not know).
  static bool is_account_key(std::string_view key);
  // nullptr when there were errors; see diagnostics().
  std::shared_ptr<const Table> finish();
  const std::vector<Diagnostic>& diagnostics() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace policy
