// Operator message ids mapped back to ours, held in the process until the state store has them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <set>
#include <unordered_set>
#include <vector>

#include "proxy/net/ring.h"
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

  size_t held() const { return count_; }
  size_t unconfirmed() const { return unconfirmed_; }

 private:
  enum class State : uint8_t { writing, unconfirmed, confirmed, delivered };
  static constexpr size_t kIdMax = 64;  // SMPP 3.4 message_id: 65 octets with its NUL
  using Ref = uint32_t;                 // an entry's number; entries never move
  static constexpr Ref kNoEntry = UINT32_MAX;
  // About 120 bytes a mapping, the key in place; the account is interned.
  struct Entry {
    uint64_t serial = 0;  // which remember() made it: records of an older use of the entry are stale
    const std::string* account = nullptr;
    int64_t expires_unix_s = 0;
    uint64_t created_ms = 0;
    uint32_t hash = 0;
    uint16_t upstream = 0;
    uint8_t id_size = 0, our_id_size = 0;
    State state = State::writing;
    bool used = false;
    std::array<char, 16> our_id{};
    std::array<char, kIdMax> id{};
    std::string_view operator_id() const { return {id.data(), id_size}; }
  };
  // A reference that knows which use of the entry it meant.
  struct Mark {
    Ref entry = kNoEntry;
    uint64_t serial = 0;
  };
  // The index: open addressing, linear probing, a slot being an entry number and its hash, so
  // that a probe reads entries only when the hash matches.
  struct Slot {
    Ref entry = kNoEntry;
    uint32_t hash = 0;
  };
  struct Sent {
    uint64_t batch = 0;
    std::vector<Mark> marks;
  };

  Entry& at(Ref r) { return chunks_[r / kChunk][r % kChunk]; }
  bool current(const Mark& m) { return at(m.entry).used && at(m.entry).serial == m.serial; }
  uint16_t upstream_index(std::string_view upstream);
  static uint32_t hash_of(uint16_t upstream, std::string_view id);
  // The slot holding (upstream, id), or the empty slot where it would go.
  size_t probe(uint16_t upstream, std::string_view id, uint32_t hash) const;
  Ref find_entry(std::string_view upstream, std::string_view operator_id);
  Ref new_entry();
  void erase(Ref r);
  void grow_index();
  void queue_write(Ref r);
  void written(uint64_t batch, bool ok);
  void set_state(Entry& entry, State state);
  void make_room();
  void forget_stale_unknown(uint64_t now_ms);

  static constexpr size_t kChunk = 4096;  // entries are allocated this many at a time

  StateStore& store_;
  Counters& counters_;
  Limits limits_;
  std::vector<std::unique_ptr<Entry[]>> chunks_;
  std::vector<Ref> free_;  // entries erased, to use again
  Ref next_unused_ = 0;    // entries past this one were never used
  std::vector<Slot> slots_;  // a power of two, at most half full
  size_t count_ = 0;
  uint64_t serial_ = 0;
  std::vector<std::string> upstreams_;  // by index (few: the configured operators)
  // Entries in the order they were made. Only the front is ever erased, and never while its
  // write is on its way, so the entries a batch points at outlive the batch.
  Ring<Mark> order_;
  std::vector<Ref> batch_;  // to write at the next flush
  std::vector<StateStore::ReceiptMapping> mappings_;  // the batch as the store takes it (reused)
  Ring<Sent> sent_;                                  // batches the store has not answered yet
  std::vector<std::vector<Mark>> spare_marks_;       // answered batches' vectors (reused)
  uint64_t next_batch_ = 1;
  std::string values_;  // scratch (reused)
  Ring<Mark> to_write_;                                      // unconfirmed, to send again
  size_t unconfirmed_ = 0;                                   // entries writing or unconfirmed
  std::unordered_map<std::string, uint64_t> unknown_since_;  // receipts nobody knows: first seen
  std::set<std::string, std::less<>> account_names_;         // interned: one copy per account
};

}  // namespace proxy
