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

// What a message asks of the state store once the stateless rules accepted it (docs/state.md).
struct StateNeeds {
  bool throughput = false;
  int rate = 0;  // messages per second
  bool opt_out = false;
  bool awareness = false;
  int awareness_cap = 1;
  bool charge = false;  // prepaid: one unit per part
  bool any() const { return throughput || opt_out || awareness || charge; }
  // Whether this message needs the stateful rule `r` (rules.def, after "Stateful rules").
  bool needs(Rule r) const {
    switch (r) {
      case Rule::account_throughput: return throughput;
      case Rule::recipient_opted_out: return opt_out;
      case Rule::awareness_daily_cap: return awareness;
      case Rule::account_balance: return charge;
      default: return false;
    }
  }
};

enum class OptOutWord : uint8_t { none, stop, start };
// The language a confirmation is written in: that of the word the user sent.
enum class Language : uint8_t { english, arabic };
// Arabic when the text has an Arabic letter (U+0600-06FF, U+0750-077F, and their presentation
// forms), else English.
Language language_of(std::string_view utf8);

class Table {
 public:
  ~Table();
  // Decides one whole message at one moment. Stateless: it reads only the table. With a
  // trace, records what every rule said (for `hajib explain`).
  Verdict decide(const Message& message, const Context& context, Trace* trace = nullptr) const;

  bool has_account(std::string_view account) const;
  // Whether a message of this class from this account waits for its campaign to be approved:
  // promotional messages of accounts with `review: promotional` (docs/policy.md, "Campaign review").
  bool reviews(std::string_view account, MessageClass message_class) const;
  int throughput(std::string_view account) const;  // messages per second; 0: no limit (or no such account)
  // The first instant at or after `unix_seconds` when promotional and awareness messages may be
  // sent: the end of the forbidden window (quiet or Ramadan hours, as the day it falls on has
  // them), or `unix_seconds` itself when it is outside one. What a held message waits for.
  int64_t window_opens(int64_t unix_seconds) const;

  // The stateful rules this accepted message needs (rules that are off are left out).
  StateNeeds state_needs(const Message& message, const Verdict& verdict) const;
  // When the store cannot answer: does this rule let the message pass (true) or ask for a retry?
  bool passes_when_store_down(Rule r) const;
  // With the store down: the first stateful rule (in rules.def order) this message needs whose
  // configuration does not let it pass, or Rule::none when it may be relayed without the store.
  Rule blocking_when_store_down(const StateNeeds& needs) const;
  // An MO whose whole text is a stop or start word (normalised like keywords).
  OptOutWord opt_out_word(std::string_view text) const;
  // The confirmation SMS for an opt-out or opt-in, in `language`: its sender and its text, which
  // names the account as configured (docs/state.md). False if the account has no confirmation_sender.
  bool confirmation(std::string_view account, OptOutWord word, Language language, std::string& sender,
                    std::string& text) const;
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
  // The bytes of a file the policy came from, for its version fingerprint (cheaper than
  // re-emitting every node).
  void add_source(std::string_view text);
  // nullptr when there were errors; see diagnostics().
  std::shared_ptr<const Table> finish();
  const std::vector<Diagnostic>& diagnostics() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace policy
