// Admin bans on binding (proxy/customer/bans.h).
#include "proxy/customer/bans.h"

namespace proxy {

const char* ban_kind_name(BanKind kind) { return kind == BanKind::address ? "address" : "account"; }

bool Bans::add(BanKind kind, const std::string& key, uint64_t until_ms, uint64_t now_ms) {
  forget_expired(now_ms);
  auto at = std::pair{kind, key};
  if (until_.size() >= kMax && !until_.count(at)) return false;
  until_[at] = until_ms;
  return true;
}

bool Bans::remove(const std::string& key, uint64_t now_ms) {
  forget_expired(now_ms);
  size_t lifted = until_.erase({BanKind::address, key}) + until_.erase({BanKind::account, key});
  return lifted > 0;
}

bool Bans::banned(BanKind kind, const std::string& key, uint64_t now_ms) const {
  if (until_.empty()) return false;
  auto it = until_.find({kind, key});
  return it != until_.end() && it->second > now_ms;
}

std::vector<Bans::Ban> Bans::in_force(uint64_t now_ms) {
  forget_expired(now_ms);
  std::vector<Ban> out;
  for (const auto& [at, until] : until_) out.push_back({at.first, at.second, until});
  return out;
}

void Bans::forget_expired(uint64_t now_ms) {
  std::erase_if(until_, [now_ms](const auto& entry) { return entry.second <= now_ms; });
}

}  // namespace proxy
