// In-process state for a single instance (demos, unit tests): the same contract as Redis, no sharing.
#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <set>
#include <unordered_map>

#include "policy/saudi_time.h"
#include "proxy/net/deferred.h"
#include "proxy/state/store.h"

namespace proxy {

namespace {

class MemoryStore final : public StateStore {
 public:
  explicit MemoryStore(uv_loop_t* loop) : deferred_(loop) {}

  void remember_receipt(std::string_view upstream, std::string_view operator_id, std::string_view value, int64_t,
                        Done done) override {
    receipts_[receipt_key(upstream, operator_id)] = std::string(value);
    deferred_.post([done = std::move(done)] { done(true); });
  }
  void find_receipt(std::string_view upstream, std::string_view operator_id, Found done) override {
    std::optional<std::string> value;
    if (auto it = receipts_.find(receipt_key(upstream, operator_id)); it != receipts_.end()) value = it->second;
    deferred_.post([done = std::move(done), value = std::move(value)]() mutable { done(true, std::move(value)); });
  }
  void forget_receipt(std::string_view upstream, std::string_view operator_id) override {
    receipts_.erase(receipt_key(upstream, operator_id));
  }
  // Mappings leave when their final receipt is delivered; the rest live as long as the process.
  void sweep_receipts() override {}
  void on_back(std::function<void(bool)>) override {}  // never away
  void keep_delivery(std::string_view account, std::string_view key, std::string_view pdu, int max, int,
                     Done done) override {
    auto& kept = kept_[std::string(account)];
    bool ok = int(kept.size()) < max || kept.count(std::string(key));
    if (ok) kept[std::string(key)] = std::string(pdu);
    deferred_.post([done = std::move(done), ok] { done(ok); });
  }
  void kept_deliveries(std::string_view account, int max, Listed done) override {
    std::vector<std::pair<std::string, std::string>> items;
    if (auto it = kept_.find(std::string(account)); it != kept_.end())
      for (auto& item : it->second) {
        if (int(items.size()) >= max) break;
        items.push_back(item);
      }
    deferred_.post([done = std::move(done), items = std::move(items)]() mutable { done(true, std::move(items)); });
  }
  void forget_delivery(std::string_view account, std::string_view key) override {
    if (auto it = kept_.find(std::string(account)); it != kept_.end()) it->second.erase(std::string(key));
  }
  // In memory mode ported numbers come from routes.overrides only.
  void ported_version(Found done) override {
    deferred_.post([done = std::move(done)] { done(true, std::nullopt); });
  }
  void ported_numbers(Listed done) override {
    deferred_.post([done = std::move(done)] { done(true, {}); });
  }
  // The same rules as the Redis script, for one process.
  void reserve(const Reservation& r, Checked done) override {
    policy::Rule failed = check(r);
    if (failed == policy::Rule::none) take(r);
    deferred_.post([done = std::move(done), failed] { done(true, failed); });
  }
  void release(const Reservation& r) override {
    if (r.needs.awareness) {
      auto& n = counters_[keys::awareness(r.account, r.saudi_day, r.sender, r.number_hash)];
      n = std::max<int64_t>(0, n - 1);
    }
    if (r.needs.charge) counters_[keys::balance(r.account)] += r.parts;
  }
  void count_usage(std::string_view account, int64_t unix_minute, std::string_view cls, int messages, int parts,
                   std::string_view, uint64_t, Done done) override {
    const policy::SaudiTime t = policy::saudi_time(unix_minute * 60);
    counters_[keys::usage(account, t.day) + ":" + std::string(cls) + ":messages"] += messages;
    counters_[keys::usage(account, t.day) + ":" + std::string(cls) + ":parts"] += parts;
    Volume& v = volume_[std::string(account)];
    if (v.first_day < 0) v.first_day = t.day;
    v.hourly[t.day][size_t(t.minute / 60)] += messages;
    v.minutes[unix_minute] += messages;
    // As Redis' TTLs do: the 7 days before today, and the last hour.
    while (!v.hourly.empty() && v.hourly.begin()->first < t.day - 8) v.hourly.erase(v.hourly.begin());
    while (!v.minutes.empty() && v.minutes.begin()->first < unix_minute - 120) v.minutes.erase(v.minutes.begin());
    deferred_.post([done = std::move(done)] { done(true); });
  }
  void volume_figures(std::string_view account, int64_t unix_s, int window_min,
                      std::function<void(bool, VolumeFigures)> done) override {
    VolumeFigures f;
    if (auto it = volume_.find(std::string(account)); it != volume_.end()) {
      const Volume& v = it->second;
      const policy::SaudiTime t = policy::saudi_time(unix_s);
      const size_t hour = size_t(t.minute / 60);
      for (const auto& [day, hours] : v.hourly) {
        if (day == t.day)
          for (int64_t n : hours) f.today += n;
        else if (day >= t.day - 7 && day < t.day)
          f.same_hour_before += hours[hour];
      }
      const int64_t minute = unix_s / 60;
      for (auto m = v.minutes.lower_bound(minute - window_min + 1); m != v.minutes.end() && m->first <= minute; ++m)
        f.recent += m->second;
      f.first_day = v.first_day;
    }
    deferred_.post([done = std::move(done), f] { done(true, f); });
  }
  void count_flags(std::string_view account, int64_t day, std::string_view rule, int count,
                   const std::vector<std::string>& examples, Done done) override {
    auto& day_flags = flags_[keys::flags(account, day)];
    counters_[keys::flags(account, day) + ":" + std::string(rule)] += count;
    auto& kept = day_flags[std::string(rule)];
    for (const auto& e : examples)
      if (int(kept.size()) < keys::kFlagExamples && std::find(kept.begin(), kept.end(), e) == kept.end()) kept.push_back(e);
    deferred_.post([done = std::move(done)] { done(true); });
  }
  void set_opted_out(std::string_view account, std::string_view number, bool opted_out, Done done) override {
    auto& set = opted_out_[std::string(account)];
    if (opted_out) set.insert(std::string(number));
    else set.erase(std::string(number));
    deferred_.post([done = std::move(done)] { done(true); });
  }

  void hold_part(std::string_view account, std::string_view message, std::string_view part, std::string_view blob, int,
                 std::string_view, Done done) override {
    held_[keys::held(account, message)][std::string(part)] = std::string(blob);
    deferred_.post([done = std::move(done)] { done(true); });
  }
  void forget_held(std::string_view account, std::string_view message) override { held_.erase(keys::held(account, message)); }
  // One process: nothing outlives it, so a fresh start has nothing to pick up.
  void renew_claim(std::string_view, std::string_view, std::string_view) override {}
  void held_parts(std::string_view, std::string_view, std::function<void(bool, std::vector<HeldPart>)> done) override {
    deferred_.post([done = std::move(done)] { done(true, {}); });
  }

  // Held messages: the same steps as the Redis scripts (lua/hold.lua, held_due.lua, ...).
  void hold_message(const HeldRecord& record, int64_t max_messages, int64_t max_bytes, int, Held done) override {
    HeldAccount& a = holds_[record.account];
    bool held = a.records.count(record.id) > 0;
    if (!held && int64_t(a.records.size()) + 1 <= max_messages && a.bytes + int64_t(record.bytes()) <= max_bytes) {
      a.records[record.id] = record;
      a.bytes += int64_t(record.bytes());
      held = true;
    }
    deferred_.post([done = std::move(done), held] { done(true, held); });
  }
  void due_held(std::string_view account, int64_t now_s, int limit, std::string_view owner, Due done) override {
    std::vector<HeldRecord> out;
    HeldAccount& a = holds_[std::string(account)];
    std::vector<const HeldRecord*> due;
    for (const auto& [id, r] : a.records)
      if (r.release_at != 0 && r.release_at <= now_s) due.push_back(&r);
    std::sort(due.begin(), due.end(), [](auto* x, auto* y) { return x->release_at < y->release_at; });
    const int64_t now = now_ms();
    for (const HeldRecord* r : due) {
      if (int(out.size()) >= limit) break;
      auto& lease = a.leases[r->id];
      if (lease.second > now && lease.first != owner) continue;
      lease = {std::string(owner), now + keys::kClaimMs};
      out.push_back(*r);
    }
    deferred_.post([done = std::move(done), out = std::move(out)]() mutable { done(true, std::move(out)); });
  }
  void renew_hold_lease(std::string_view account, std::string_view id, std::string_view owner) override {
    holds_[std::string(account)].leases[std::string(id)] = {std::string(owner), now_ms() + keys::kClaimMs};
  }
  void held_done(std::string_view account, std::string_view id) override {
    HeldAccount& a = holds_[std::string(account)];
    if (auto it = a.records.find(std::string(id)); it != a.records.end()) {
      a.bytes -= int64_t(it->second.bytes());
      a.records.erase(it);
    }
    a.leases.erase(std::string(id));
  }
  void release_held(std::string_view account, std::string_view campaign, std::string_view id, int64_t at_s, Done done) override {
    for (auto& [key, r] : holds_[std::string(account)].records)
      if (campaign.empty() ? key == id : r.campaign == campaign) r.release_at = at_s;
    deferred_.post([done = std::move(done)] { done(true); });
  }

  void drop_held(std::string_view account, std::string_view campaign, std::string_view id, Done done) override {
    for (auto& [key, r] : holds_[std::string(account)].records)
      if (campaign.empty() ? key == id : r.campaign == campaign) {
        r.release_at = 1;
        r.dropped = true;
      }
    deferred_.post([done = std::move(done)] { done(true); });
  }
  void held_count(std::string_view account, std::function<void(bool, int64_t)> done) override {
    int64_t n = int64_t(holds_[std::string(account)].records.size());
    deferred_.post([done = std::move(done), n] { done(true, n); });
  }

  bool up() const override { return true; }
  std::string describe() const override { return "memory"; }
  void close() override { deferred_.close(); }

 private:
  static std::string receipt_key(std::string_view upstream, std::string_view operator_id) {
    return std::string(upstream) + '\t' + std::string(operator_id);
  }

  Deferred deferred_;
  std::unordered_map<std::string, std::string> receipts_;
  std::unordered_map<std::string, std::map<std::string, std::string>> kept_;
  std::unordered_map<std::string, int64_t> counters_;
  std::unordered_map<std::string, std::map<std::string, std::string>> held_;
  std::unordered_map<std::string, std::set<std::string>> opted_out_;
  struct HeldAccount {
    std::map<std::string, HeldRecord> records;
    std::map<std::string, std::pair<std::string, int64_t>> leases;  // id -> owner, until (ms)
    int64_t bytes = 0;
  };
  std::unordered_map<std::string, HeldAccount> holds_;
  struct Bucket {
    double tokens = 0;
    int64_t at_ms = -1;
  };
  std::unordered_map<std::string, Bucket> buckets_;
  // The volume watch's figures per account (Redis: keys hourly, minutes, counted_since).
  struct Volume {
    int64_t first_day = -1;
    std::map<int64_t, std::array<int64_t, 24>> hourly;  // Saudi day -> messages per Saudi hour
    std::map<int64_t, int64_t> minutes;                 // unix minute -> messages
  };
  std::unordered_map<std::string, Volume> volume_;
  std::unordered_map<std::string, std::map<std::string, std::vector<std::string>>> flags_;  // day key -> rule -> examples

  static int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  Bucket refilled(const Reservation& r) {
    Bucket b = buckets_[r.account];
    int64_t now = now_ms();
    if (b.at_ms < 0) b = Bucket{double(r.needs.rate), now};
    b.tokens = std::min(double(r.needs.rate), b.tokens + double(now - b.at_ms) * r.needs.rate / 1000.0);
    b.at_ms = now;
    return b;
  }
  policy::Rule check(const Reservation& r) {
    using policy::Rule;
    if (r.needs.throughput && refilled(r).tokens < 1) return Rule::account_throughput;
    if (r.needs.opt_out && opted_out_[r.account].count(r.number)) return Rule::recipient_opted_out;
    if (r.needs.awareness && counters_[keys::awareness(r.account, r.saudi_day, r.sender, r.number_hash)] >= r.needs.awareness_cap)
      return Rule::awareness_daily_cap;
    if (r.needs.charge && counters_[keys::balance(r.account)] < r.parts) return Rule::account_balance;
    return Rule::none;
  }
  void take(const Reservation& r) {
    if (r.needs.throughput) {
      Bucket b = refilled(r);
      b.tokens -= 1;
      buckets_[r.account] = b;
    }
    if (r.needs.awareness) ++counters_[keys::awareness(r.account, r.saudi_day, r.sender, r.number_hash)];
    if (r.needs.charge) counters_[keys::balance(r.account)] -= r.parts;
  }
};

}  // namespace

std::unique_ptr<StateStore> make_memory_store(uv_loop_t* loop) { return std::make_unique<MemoryStore>(loop); }

}  // namespace proxy
