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
}  // namespace

ReceiptMap::ReceiptMap(StateStore& store, Counters& counters, Limits limits)
    : store_(store), counters_(counters), limits_(limits) {}

const std::pmr::string& ReceiptMap::key_of(std::string_view upstream, std::string_view operator_id) {
  key_.assign(upstream).push_back('\t');
  key_.append(operator_id);
  return key_;
}

void ReceiptMap::set_state(Entry& entry, State state) {
  bool was = entry.state == State::writing || entry.state == State::unconfirmed;
  bool is = state == State::writing || state == State::unconfirmed;
  unconfirmed_ += size_t(is) - size_t(was);
  entry.state = state;
}

void ReceiptMap::remember(std::string_view upstream, std::string_view operator_id, std::string_view account,
                          std::string_view our_id, int64_t expires_unix_s, uint64_t now_ms) {
  auto [it, fresh] = entries_.try_emplace(key_of(upstream, operator_id));
  Entry& entry = it->second;
  // Confirmed is the state that counts for nothing; queue_write() moves it on. An operator
  // reusing an id: the newest mapping wins.
  if (fresh) entry.state = State::confirmed;
  else set_state(entry, State::confirmed);
  auto name = account_names_.find(account);
  if (name == account_names_.end()) name = account_names_.emplace(account).first;
  entry.account = &*name;
  entry.our_id_size = uint8_t(std::min(our_id.size(), entry.our_id.size()));
  std::copy_n(our_id.data(), entry.our_id_size, entry.our_id.data());
  entry.expires_unix_s = expires_unix_s;
  entry.created_ms = now_ms;
  order_.emplace_back(&*it, now_ms);
  queue_write(*it);
  make_room();
}

void ReceiptMap::queue_write(Node& node) {
  set_state(node.second, State::writing);
  batch_.push_back(&node);
}

// The values are laid out in one buffer first, so that the views into it stay put.
void ReceiptMap::flush() {
  if (batch_.empty()) return;
  values_.clear();
  for (Node* node : batch_) values_.append(*node->second.account).append(1, '\t').append(node->second.our_id.data(), node->second.our_id_size);
  mappings_.clear();
  Sent& sent = sent_.emplace_back();
  sent.batch = next_batch_++;
  if (!spare_nodes_.empty()) {
    sent.nodes = std::move(spare_nodes_.back());
    spare_nodes_.pop_back();
  }
  size_t at = 0;
  for (Node* node : batch_) {
    const Entry& e = node->second;
    std::string_view key = node->first;
    size_t tab = key.find('\t'), length = e.account->size() + 1 + e.our_id_size;
    mappings_.push_back({key.substr(0, tab), key.substr(tab + 1), std::string_view(values_).substr(at, length), e.expires_unix_s});
    at += length;
    sent.nodes.emplace_back(node, e.created_ms);
  }
  batch_.clear();
  // The callback carries the batch number only: small enough for std::function to hold in place.
  store_.remember_receipts(mappings_, [this, batch = sent.batch](bool ok) { written(batch, ok); });
}

void ReceiptMap::written(uint64_t batch, bool ok) {
  auto it = std::find_if(sent_.begin(), sent_.end(), [&](const Sent& s) { return s.batch == batch; });
  if (it == sent_.end()) return;
  for (auto [node, created] : it->nodes) {
    Entry& e = node->second;
    if (e.created_ms != created || e.state != State::writing) continue;  // replaced or delivered meanwhile
    set_state(e, ok ? State::confirmed : State::unconfirmed);
    if (!ok) to_write_.emplace_back(node->first);
  }
  it->nodes.clear();
  spare_nodes_.push_back(std::move(it->nodes));
  sent_.erase(it);
}

void ReceiptMap::find(std::string_view upstream, std::string_view operator_id, uint64_t now_ms,
                      std::function<void(Found)> done) {
  if (auto it = entries_.find(key_of(upstream, operator_id)); it != entries_.end()) {
    if (it->second.state == State::delivered) return done(Found{Outcome::delivered, {}, {}});
    const Entry& e = it->second;
    return done(Found{Outcome::mapped, *e.account, std::string(e.our_id.data(), e.our_id_size)});
  }
  store_.find_receipt(upstream, operator_id, [this, key = std::string(key_), now_ms, done = std::move(done)](bool ok, std::optional<std::string> value) {
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
  if (auto it = entries_.find(key_of(upstream, operator_id)); it != entries_.end()) set_state(it->second, State::delivered);
}

// Past max_entries the oldest go. One whose write is on its way stays until its answer (the
// batch points at it), so the table may pass the bound by what is in flight to the store.
void ReceiptMap::make_room() {
  while (entries_.size() > limits_.max_entries && !order_.empty()) {
    auto [node, created] = order_.front();
    if (node->second.created_ms != created) {  // an older mapping of a reused id: the newer one counts
      order_.pop_front();
      continue;
    }
    if (node->second.state == State::writing) return;
    order_.pop_front();
    if (node->second.state == State::unconfirmed) {
      ++counters_.receipt_mappings_dropped;
      log::error("receipt map full ({} entries): dropped the unconfirmed mapping of {}", limits_.max_entries,
                 std::string_view(node->first).substr(node->first.find('\t') + 1));
    }
    set_state(node->second, State::confirmed);
    entries_.erase(entries_.find(node->first));
  }
}

void ReceiptMap::on_tick(uint64_t now_ms) {
  // Confirmed entries leave after the hold; the oldest unconfirmed one stops the walk (it stays
  // until the store has it), so an outage holds everything made since it began.
  while (!order_.empty() && order_.front().second + limits_.hold_ms <= now_ms) {
    auto [node, created] = order_.front();
    if (node->second.created_ms == created) {
      if (node->second.state == State::writing || node->second.state == State::unconfirmed) break;
      entries_.erase(entries_.find(node->first));
    }
    order_.pop_front();
  }
  if (store_.up()) {
    for (size_t n = 0; n < kWritesPerTick && !to_write_.empty(); ++n) {
      key_.assign(to_write_.front());
      to_write_.pop_front();
      auto it = entries_.find(key_);
      if (it != entries_.end() && it->second.state == State::unconfirmed) queue_write(*it);
    }
  }
  flush();
}

void ReceiptMap::store_back(bool lost) {
  if (!lost) return;  // what it confirmed is still there; the unconfirmed are being written again
  size_t rewritten = 0;
  for (auto& [key, entry] : entries_) {
    if (entry.state != State::confirmed) continue;
    set_state(entry, State::unconfirmed);
    to_write_.emplace_back(key);
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
