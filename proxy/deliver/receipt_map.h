// Operator message ids mapped back to ours, held in the process until the state store has them.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory_resource>
#include <string>
#include <string_view>
#include <unordered_map>
#include <set>
#include <unordered_set>
#include <vector>

#include "proxy/state/store.h"

namespace proxy {

class StateStore;
struct Counters;

// Every mapping is written to the state store and also held here: until the store confirmed it
// (so a Redis outage of a minute loses no receipt), and for `hold_ms` after it was made (so a
// Redis that comes back empty is given the recent ones again, and a receipt the operator sends
// twice is recognised). The table is bounded: past `max_entries` the oldest confirmed entries go
// first; an unconfirmed one dropped for room is counted (receipt_mappings_dropped).
//
// A receipt whose id nobody knows is answered with a temporary error for `unknown_retry_ms`
// after it was first seen, so that the operator sends it again (the mapping may still be on its
// way), and only then dropped, counted and logged.
class ReceiptMap {
 public:
  struct Limits {
    size_t max_entries = 1500000;
    uint64_t hold_ms = 10000;
    uint64_t unknown_retry_ms = 600000;
  };
  ReceiptMap(StateStore& store, Counters& counters, Limits limits);

  void remember(std::string_view upstream, std::string_view operator_id, std::string_view account,
                std::string_view our_id, int64_t expires_unix_s, uint64_t now_ms);

  enum class Outcome {
    mapped,         // account and our id are known
    retry,          // not known (yet): answer the operator with a temporary error
    drop,           // not known for unknown_retry_ms: acknowledge and drop, counted
    store_down,     // not held here and the store cannot answer: a temporary error
    delivered,      // its final receipt was handed on already: a duplicate, acknowledge it
  };
  struct Found {
    Outcome outcome = Outcome::retry;
    std::string account, our_id;
  };
  // Looks here first, then in the store; `done` runs inline for what is held here.
  void find(std::string_view upstream, std::string_view operator_id, uint64_t now_ms, std::function<void(Found)> done);

  // The final receipt for this id was kept or acknowledged by the customer: the mapping goes.
  void delivered(std::string_view upstream, std::string_view operator_id);

  // Every tick: ages entries out, writes again what the store has not confirmed.
  void on_tick(uint64_t now_ms);
  // Sends the mappings made since the last flush to the store in one batch (once per loop turn).
  void flush();
  // The store is reachable again; `lost` when it came back without its data.
  void store_back(bool lost);

  size_t held() const { return entries_.size(); }
  size_t unconfirmed() const { return unconfirmed_; }

 private:
  enum class State : uint8_t { writing, unconfirmed, confirmed, delivered };
  // About 145 bytes a mapping with the node and the age queue: the account is interned, our id
  // (16 hex digits, MessageIdAllocator) kept in place.
  struct Entry {
    const std::string* account = nullptr;
    std::array<char, 16> our_id{};
    uint8_t our_id_size = 0;
    State state = State::writing;
    int64_t expires_unix_s = 0;
    uint64_t created_ms = 0;
    std::string value() const { return *account + '\t' + std::string(our_id.data(), our_id_size); }
  };
  using Entries = std::pmr::unordered_map<std::pmr::string, Entry>;
  using Node = Entries::value_type;  // stable in memory until erased (unordered_map keeps nodes)
  // One batch given to the store, until its answer.
  struct Sent {
    uint64_t batch = 0;
    std::vector<std::pair<Node*, uint64_t>> nodes;  // with the created_ms each had when sent
  };
  const std::pmr::string& key_of(std::string_view upstream, std::string_view operator_id);
  void written(uint64_t batch, bool ok);
  void queue_write(Node& node);
  void set_state(Entry& entry, State state);
  void make_room();
  void forget_stale_unknown(uint64_t now_ms);

  StateStore& store_;
  Counters& counters_;
  Limits limits_;
  // The entries, their keys and the age queue take their memory from this pool and give it back
  // to it: once the table is full, remembering a mapping allocates nothing.
  std::pmr::unsynchronized_pool_resource pool_;
  Entries entries_{&pool_};
  // Entries and their created_ms, oldest first. Only the front is ever erased, and never while
  // its write is on its way, so the nodes a batch points at outlive the batch.
  std::pmr::deque<std::pair<Node*, uint64_t>> order_{&pool_};
  std::vector<Node*> batch_;  // to write at the next flush
  std::vector<StateStore::ReceiptMapping> mappings_;  // the batch as the store takes it (reused)
  std::deque<Sent> sent_;                             // batches the store has not answered yet
  std::vector<std::vector<std::pair<Node*, uint64_t>>> spare_nodes_;  // answered batches' vectors (reused)
  uint64_t next_batch_ = 1;
  std::string values_;         // scratch (reused)
  std::pmr::string key_{&pool_};  // scratch (reused)
  std::deque<std::string> to_write_;                     // unconfirmed, to send again
  size_t unconfirmed_ = 0;                               // entries writing or unconfirmed
  std::unordered_map<std::string, uint64_t> unknown_since_;  // receipts nobody knows: first seen
  std::set<std::string, std::less<>> account_names_;         // interned: one copy per account
};

}  // namespace proxy
