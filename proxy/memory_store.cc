// In-process state for a single instance (demos, unit tests): the same contract as Redis, no sharing.
#include <map>
#include <unordered_map>

#include "proxy/deferred.h"
#include "proxy/state_store.h"

namespace proxy {

namespace {

class MemoryStore final : public StateStore {
 public:
  explicit MemoryStore(uv_loop_t* loop) : deferred_(loop) {}

  void remember_receipt(std::string_view upstream, std::string_view operator_id, std::string_view value, int) override {
    receipts_[keys::receipt(upstream, operator_id)] = std::string(value);
  }
  void find_receipt(std::string_view upstream, std::string_view operator_id, Found done) override {
    std::optional<std::string> value;
    if (auto it = receipts_.find(keys::receipt(upstream, operator_id)); it != receipts_.end()) value = it->second;
    deferred_.post([done = std::move(done), value = std::move(value)]() mutable { done(true, std::move(value)); });
  }
  void keep_delivery(std::string_view account, std::string_view key, std::string_view pdu, int max, int,
                     Done done) override {
    auto& kept = kept_[std::string(account)];
    bool ok = int(kept.size()) < max || kept.count(std::string(key));
    if (ok) kept[std::string(key)] = std::string(pdu);
    deferred_.post([done = std::move(done), ok] { done(ok); });
  }
  void kept_deliveries(std::string_view account, Listed done) override {
    std::vector<std::pair<std::string, std::string>> items;
    if (auto it = kept_.find(std::string(account)); it != kept_.end()) items.assign(it->second.begin(), it->second.end());
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
  bool up() const override { return true; }
  std::string describe() const override { return "memory"; }
  void close() override { deferred_.close(); }

 private:
  Deferred deferred_;
  std::unordered_map<std::string, std::string> receipts_;
  std::unordered_map<std::string, std::map<std::string, std::string>> kept_;
};

}  // namespace

std::unique_ptr<StateStore> make_memory_store(uv_loop_t* loop) { return std::make_unique<MemoryStore>(loop); }

}  // namespace proxy
