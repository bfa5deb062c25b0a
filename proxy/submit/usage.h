// Billing usage: messages and parts relayed per account, minute and class, counted in memory and
// written to the state store in one batch per tick, each batch counted there exactly once (the
// store adds them to the Saudi day's tallies, and to the volume watch's hours and minutes).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "policy/message.h"

namespace proxy {

class StateStore;
struct Counters;

class UsageLedger {
 public:
  UsageLedger(StateStore& store, Counters& counters, std::string owner)
      : store_(store), counters_(counters), owner_(std::move(owner)) {}
  void count(const std::string& account, int64_t unix_s, policy::MessageClass c, bool counts_as_message);
  // Once per tick; `last` at shutdown (there is no later tick to wait for).
  void flush(bool last = false);
  size_t unconfirmed() const { return unconfirmed_.size(); }

 private:
  struct Batch {
    std::string account;
    int64_t minute = 0;  // unix seconds / 60
    policy::MessageClass message_class{};
    int messages = 0, parts = 0;
    bool sending = false;
  };
  void send(uint64_t batch);

  StateStore& store_;
  Counters& counters_;
  std::string owner_;
  // Not yet written: (account, unix minute, class) -> (messages, parts). While the store is down
  // they merge here, one entry per account, class and minute of the outage.
  using Tallies = std::map<std::tuple<std::string, int64_t, policy::MessageClass>, std::pair<int, int>>;
  Tallies tallies_;
  // The tally counted last: most messages in a row are the same account's, minute and class, and
  // then counting one costs three comparisons instead of a walk down the map.
  Tallies::iterator last_ = tallies_.end();
  // Sent and not yet confirmed, by batch number: kept, and sent again under the same number
  // (the store counts a number once), until the store confirms it.
  std::map<uint64_t, Batch> unconfirmed_;
  uint64_t batches_ = 0;
};

}  // namespace proxy
