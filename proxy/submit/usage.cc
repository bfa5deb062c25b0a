// Billing usage (proxy/submit/usage.h): tallies per tick, numbered batches counted once.
#include "proxy/submit/usage.h"

#include "proxy/state/store.h"
#include "proxy/stats/stats.h"

namespace proxy {

void UsageLedger::count(const std::string& account, int64_t unix_s, policy::MessageClass c, bool counts_as_message) {
  const int64_t minute = unix_s / 60;
  if (last_ == tallies_.end() || std::get<1>(last_->first) != minute || std::get<2>(last_->first) != c ||
      std::get<0>(last_->first) != account)
    last_ = tallies_.try_emplace({account, minute, c}).first;
  auto& tally = last_->second;
  tally.first += counts_as_message ? 1 : 0;
  tally.second += 1;
}

// A batch stays here until the store confirmed it, and is sent again under its own number,
// which the store counts once. Nothing new goes out while a batch is awaiting its answer, so
// each instance's numbers reach the store in order (the last flush, at shutdown, goes out
// regardless: there is no later one to wait for).
void UsageLedger::flush(bool last) {
  for (const auto& [n, batch] : unconfirmed_)
    if (batch.sending && !last) return;
  if (!store_.up()) return;  // tallies wait here, merged, until it is back
  for (auto& [n, batch] : unconfirmed_) {
    if (batch.sending) continue;
    ++counters_.usage_batches_retried;
    send(n);
  }
  for (const auto& [key, tally] : tallies_) {
    uint64_t n = ++batches_;
    unconfirmed_[n] = Batch{std::get<0>(key), std::get<1>(key), std::get<2>(key), tally.first, tally.second, false};
    send(n);
  }
  tallies_.clear();
  last_ = tallies_.end();
}

void UsageLedger::send(uint64_t n) {
  Batch& b = unconfirmed_.at(n);
  b.sending = true;
  store_.count_usage(b.account, b.minute, policy::name(b.message_class), b.messages, b.parts, owner_, n, [this, n](bool ok) {
    auto it = unconfirmed_.find(n);
    if (it == unconfirmed_.end()) return;
    if (ok) unconfirmed_.erase(it);
    else it->second.sending = false;
  });
}

}  // namespace proxy
