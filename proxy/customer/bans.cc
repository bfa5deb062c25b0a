// Admin bans on binding (proxy/customer/bans.h).
#include "proxy/customer/bans.h"

#include <cctype>

namespace proxy {

const char* ban_kind_name(BanKind kind) { return kind == BanKind::address ? "address" : "account"; }

std::string address_key(std::string_view address) {
  constexpr std::string_view mapped = "::ffff:";
  bool is_mapped = address.size() > mapped.size() && address.find('.') != std::string_view::npos;
  for (size_t i = 0; is_mapped && i < mapped.size(); ++i) is_mapped = std::tolower(static_cast<unsigned char>(address[i])) == mapped[i];
  return std::string(is_mapped ? address.substr(mapped.size()) : address);
}

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
