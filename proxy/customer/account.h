// One customer account as the running proxy sees it: its configuration and what it holds now.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/stats/stats.h"

namespace proxy {

class Receiver;

// Shared by the stages that count against an account: customers (binds), submit (held long
// messages) and deliver (receivers, kept deliveries). Each field says who writes it.
struct Account {
  std::string name;
  std::shared_ptr<const AccountConfig> config;  // replaced on reload; nullptr once removed from the config
  int binds = 0;  // customers: bound or binding right now, against max_binds
  int held_messages = 0;  // submit: long messages waiting for parts, against limits.long_messages_max
  size_t held_bytes = 0;  // submit: their parts' bytes, against limits.long_message_bytes_max
  std::vector<Receiver*> receivers;  // customers: its bound sessions that take deliver_sm
  AccountTally tally;  // submit: the NOC's figures (submits received, accepted, refused by rule)
  // A volume alarm is on (the hub's VolumeWatch sets tally.volume_*): with volume.on_surge hold,
  // what the account sends now is held for review.
  bool surging() const { return tally.volume_surge || tally.volume_over_daily_max; }
  // deliver: what follows.
  size_t next_receiver = 0;
  std::unordered_set<std::string> kept_in_flight;  // deliveries at a customer right now, by key
  // Kept deliveries are fetched for the bound receivers with room: again as soon as they take
  // some (kept_more), every few seconds otherwise (another instance may have kept some).
  uint64_t next_kept_fetch_ms = 0;
  bool kept_fetching = false;
  bool kept_more = false;
  // Deliveries acknowledged while a fetch is on its way: its answer may predate their removal
  // from the store, and must not send them again.
  std::unordered_set<std::string> handed_on_while_fetching;
};

// By name; a std::map, so that an Account never moves (sessions point at theirs).
using Accounts = std::map<std::string, Account>;

}  // namespace proxy
