// The receipt id table: in-process first, the state store behind it, nothing lost between them.
#include "proxy/deliver/receipt_map.h"

#include <fmt/format.h>

#include "proxy/log.h"

#include "proxy/state/store.h"
#include "proxy/stats/stats.h"

namespace proxy {

namespace {
constexpr size_t kWritesPerTick = 20000;       // rewriting after an outage: 80,000 a second at most
constexpr size_t kUnknownTracked = 100000;     // ids of unknown receipts remembered at once
constexpr size_t kAgedOutPerTick = 20000;      // 80,000 a second: more than a steady rate needs
}  // namespace

ReceiptMap::ReceiptMap(StateStore& store, Counters& counters, Limits limits)
    : store_(store), counters_(counters), limits_(limits) {}

// ---- the table ----------------------------------------------------------------------------------

uint16_t ReceiptMap::upstream_index(std::string_view upstream) {
  for (size_t i = 0; i < upstreams_.size(); ++i)
    if (upstreams_[i] == upstream) return uint16_t(i);
  upstreams_.emplace_back(upstream);
  return uint16_t(upstreams_.size() - 1);
}

uint32_t ReceiptMap::hash_of(uint16_t upstream, std::string_view id) {
  uint64_t h = std::hash<std::string_view>{}(id) ^ (uint64_t(upstream) * 0x9E3779B97F4A7C15ull);
  return uint32_t(h ^ (h >> 32));
}

size_t ReceiptMap::probe(uint16_t upstream, std::string_view id, uint32_t hash) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.entry == kNoEntry) return i;
    if (s.hash != hash) continue;
    const Entry& e = chunks_[s.entry / kChunk][s.entry % kChunk];
    if (e.upstream == upstream && e.operator_id() == id) return i;
  }
}

ReceiptMap::Ref ReceiptMap::find_entry(std::string_view upstream, std::string_view operator_id) {
  if (count_ == 0 || operator_id.size() > kIdMax) return kNoEntry;
  const uint16_t u = upstream_index(upstream);
  return slots_[probe(u, operator_id, hash_of(u, operator_id))].entry;
}

ReceiptMap::Ref ReceiptMap::new_entry() {
  if (!free_.empty()) {
    Ref r = free_.back();
    free_.pop_back();
    return r;
  }
  if (next_unused_ % kChunk == 0) chunks_.push_back(std::make_unique<Entry[]>(kChunk));
  return next_unused_++;
}

void ReceiptMap::grow_index() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(std::max<size_t>(1024, 2 * old.size()), Slot{});
  const size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.entry == kNoEntry) continue;
    size_t i = s.hash & mask;
    while (slots_[i].entry != kNoEntry) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

// Linear probing without tombstones: the slots after the erased one that could sit in it move
// back, so that every probe still ends at the first empty slot.
void ReceiptMap::erase(Ref r) {
  Entry& e = at(r);
  const size_t mask = slots_.size() - 1;
  size_t hole = e.hash & mask;
  while (slots_[hole].entry != r) hole = (hole + 1) & mask;
  for (size_t j = (hole + 1) & mask; slots_[j].entry != kNoEntry; j = (j + 1) & mask) {
    const size_t home = slots_[j].hash & mask;
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    slots_[hole] = slots_[j];
    hole = j;
  }
  slots_[hole] = Slot{};
  --count_;
  e.used = false;
  free_.push_back(r);
}

void ReceiptMap::set_state(Entry& entry, State state) {
  bool was = entry.state == State::writing || entry.state == State::unconfirmed;
  bool is = state == State::writing || state == State::unconfirmed;
  unconfirmed_ += size_t(is) - size_t(was);
  entry.state = state;
}

// ---- the mappings -------------------------------------------------------------------------------

void ReceiptMap::remember(std::string_view upstream, std::string_view operator_id, std::string_view account,
                          std::string_view our_id, int64_t expires_unix_s, uint64_t now_ms) {
  if (operator_id.size() > kIdMax) {  // longer than SMPP allows a message_id: the reader refuses those
    log::warn_limited("operator message id of {} bytes not mapped: {}", operator_id.size(), json_quoted(operator_id));
    return;
  }
  if (2 * (count_ + 1) > slots_.size()) grow_index();
  const uint16_t u = upstream_index(upstream);
  const uint32_t hash = hash_of(u, operator_id);
  Slot& slot = slots_[probe(u, operator_id, hash)];
  Ref r = slot.entry;
  if (r == kNoEntry) {
    r = new_entry();
    slot = Slot{r, hash};
    ++count_;
    Entry& fresh = at(r);
    fresh = Entry{};
    fresh.used = true;
    fresh.state = State::confirmed;  // counts for nothing: queue_write() moves it on
    fresh.hash = hash;
    fresh.upstream = u;
    fresh.id_size = uint8_t(operator_id.size());
    std::copy(operator_id.begin(), operator_id.end(), fresh.id.begin());
  } else {
    set_state(at(r), State::confirmed);  // an operator reusing an id: the newest mapping wins
  }
  Entry& entry = at(r);
  auto name = account_names_.find(account);
  if (name == account_names_.end()) name = account_names_.emplace(account).first;
  entry.account = &*name;
  entry.our_id_size = uint8_t(std::min(our_id.size(), entry.our_id.size()));
  std::copy_n(our_id.data(), entry.our_id_size, entry.our_id.data());
  entry.expires_unix_s = expires_unix_s;
  entry.created_ms = now_ms;
  entry.serial = ++serial_;
  order_.push_back(Mark{r, entry.serial});
  queue_write(r);
  make_room();
}

void ReceiptMap::queue_write(Ref r) {
  set_state(at(r), State::writing);
  batch_.push_back(r);
}

// The values are laid out in one buffer first, so that the views into it stay put.
void ReceiptMap::flush() {
  if (batch_.empty()) return;
  values_.clear();
  for (Ref r : batch_) {
    const Entry& e = at(r);
    values_.append(*e.account).append(1, '\t').append(e.our_id.data(), e.our_id_size);
  }
  mappings_.clear();
  Sent sent;
  sent.batch = next_batch_++;
  if (!spare_marks_.empty()) {
    sent.marks = std::move(spare_marks_.back());
    spare_marks_.pop_back();
  }
  size_t at_value = 0;
  for (Ref r : batch_) {
    const Entry& e = at(r);
    const size_t length = e.account->size() + 1 + e.our_id_size;
    mappings_.push_back({upstreams_[e.upstream], e.operator_id(), std::string_view(values_).substr(at_value, length), e.expires_unix_s});
    at_value += length;
    sent.marks.push_back(Mark{r, e.serial});
  }
  batch_.clear();
  sent_.push_back(std::move(sent));
  // The callback carries the batch number only: small enough for std::function to hold in place.
  store_.remember_receipts(mappings_, [this, batch = next_batch_ - 1](bool ok) { written(batch, ok); });
}

// Batches are answered in the order they were sent; one answered out of order (a store that
// failed a later one at once) is found further in.
void ReceiptMap::written(uint64_t batch, bool ok) {
  size_t i = 0;
  while (i < sent_.size() && sent_[i].batch != batch) ++i;
  if (i == sent_.size()) return;
  for (const Mark& m : sent_[i].marks) {
    if (!current(m) || at(m.entry).state != State::writing) continue;  // replaced or delivered meanwhile
    set_state(at(m.entry), ok ? State::confirmed : State::unconfirmed);
    if (!ok) to_write_.push_back(m);
  }
  sent_[i].marks.clear();
  sent_[i].batch = 0;  // answered
  while (!sent_.empty() && sent_.front().batch == 0) spare_marks_.push_back(std::move(sent_.pop_front().marks));
}

void ReceiptMap::find(std::string_view upstream, std::string_view operator_id, uint64_t now_ms,
                      std::function<void(Found)> done) {
  if (Ref r = find_entry(upstream, operator_id); r != kNoEntry) {
    const Entry& e = at(r);
    if (e.state == State::delivered) return done(Found{Outcome::delivered, {}, {}});
    return done(Found{Outcome::mapped, *e.account, std::string(e.our_id.data(), e.our_id_size)});
  }
  std::string key = std::string(upstream).append(1, '\t').append(operator_id);
  store_.find_receipt(upstream, operator_id, [this, key = std::move(key), now_ms, done = std::move(done)](bool ok, std::optional<std::string> value) {
    if (!ok) return done(Found{Outcome::store_down, {}, {}});
    size_t tab = value ? value->find('\t') : std::string::npos;
    if (tab != std::string::npos) {
      unknown_since_.erase(key);
      return done(Found{Outcome::mapped, value->substr(0, tab), value->substr(tab + 1)});
    }
    forget_stale_unknown(now_ms);
    auto [it, fresh] = unknown_since_.try_emplace(key, now_ms);
    if (now_ms - it->second < limits_.unknown_retry_ms) {
      ++counters_.receipts_unknown_retried;
      return done(Found{Outcome::retry, {}, {}});
    }
    unknown_since_.erase(it);
    done(Found{Outcome::drop, {}, {}});
  });
}

void ReceiptMap::delivered(std::string_view upstream, std::string_view operator_id) {
  store_.forget_receipt(upstream, operator_id);
  // A tombstone for the rest of the hold: the same receipt sent again is acknowledged, not relayed twice.
  if (Ref r = find_entry(upstream, operator_id); r != kNoEntry) set_state(at(r), State::delivered);
}

// Past max_entries the oldest go. One whose write is on its way stays until its answer (the
// batch points at it), so the table may pass the bound by what is in flight to the store.
void ReceiptMap::make_room() {
  while (count_ > limits_.max_entries && !order_.empty()) {
    const Mark m = order_.front();
    if (!current(m)) {  // an older mapping of a reused id: the newer one counts
      order_.pop_front();
      continue;
    }
    Entry& e = at(m.entry);
    if (e.state == State::writing) return;
    order_.pop_front();
    if (e.state == State::unconfirmed) {
      ++counters_.receipt_mappings_dropped;
      log::error("receipt map full ({} entries): dropped the unconfirmed mapping of {}", limits_.max_entries, e.operator_id());
    }
    set_state(e, State::confirmed);
    erase(m.entry);
  }
}

void ReceiptMap::on_tick(uint64_t now_ms) {
  // Confirmed entries leave after the hold; the oldest unconfirmed one stops the walk (it stays
  // until the store has it), so an outage holds everything made since it began. At most
  // kAgedOutPerTick a tick: after a burst the table empties over a few ticks instead of stalling
  // the loop for one (the size bound does not wait for this walk).
  for (size_t walked = 0; !order_.empty() && walked < kAgedOutPerTick; ++walked) {
    const Mark m = order_.front();
    if (current(m)) {
      Entry& e = at(m.entry);
      if (e.created_ms + limits_.hold_ms > now_ms) break;
      if (e.state == State::writing || e.state == State::unconfirmed) break;
      erase(m.entry);
    }
    order_.pop_front();
  }
  if (store_.up()) {
    for (size_t n = 0; n < kWritesPerTick && !to_write_.empty(); ++n) {
      const Mark m = to_write_.pop_front();
      if (current(m) && at(m.entry).state == State::unconfirmed) queue_write(m.entry);
    }
  }
  flush();
}

void ReceiptMap::store_back(bool lost) {
  if (!lost) return;  // what it confirmed is still there; the unconfirmed are being written again
  size_t rewritten = 0;
  for (Ref r = 0; r < next_unused_; ++r) {
    Entry& e = at(r);
    if (!e.used || e.state != State::confirmed) continue;
    set_state(e, State::unconfirmed);
    to_write_.push_back(Mark{r, e.serial});
    ++rewritten;
  }
  log::warn("the state store came back without its data: writing {} recent receipt mappings again",
             rewritten);
}

void ReceiptMap::forget_stale_unknown(uint64_t now_ms) {
  if (unknown_since_.size() < kUnknownTracked) return;
  std::erase_if(unknown_since_, [&](const auto& e) { return now_ms - e.second >= limits_.unknown_retry_ms; });
  if (unknown_since_.size() >= kUnknownTracked) unknown_since_.clear();  // a flood of unknown ids: start over
}

}  // namespace proxy
