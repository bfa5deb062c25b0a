// Flagged messages (action `flag`): counted per account, Saudi day and rule, with a few examples
// masked so that no code or number is kept, and written to the state store once per tick for
// `hajib report flags`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "policy/message.h"

namespace proxy {

class StateStore;
struct Counters;

// The text as a report may keep it: every link becomes "[link]" and every digit (ASCII, Arabic-
// Indic, Eastern Arabic-Indic) '#', so that neither a code nor a personal number survives; cut to
// kMaskedMax bytes at a character's boundary.
std::string mask_example(std::string_view utf8);
inline constexpr size_t kMaskedMax = 320;

class FlagLedger {
 public:
  FlagLedger(StateStore& store, Counters& counters) : store_(store), counters_(counters) {}
  // Each rule that flagged `verdict` (its `flagged` bits) counts once; `text` is masked here.
  void count(const std::string& account, int64_t unix_s, const policy::Verdict& verdict, std::string_view text);
  // Once per tick; while the store is down the tallies wait here, merged.
  void flush();

 private:
  struct Tally {
    int count = 0;
    std::vector<std::string> examples;  // masked, distinct, at most keys::kFlagExamples
  };
  StateStore& store_;
  Counters& counters_;
  std::map<std::tuple<std::string, int64_t, policy::Rule>, Tally> tallies_;
};

}  // namespace proxy
