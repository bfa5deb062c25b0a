// Prefix and number-portability routing (REGULATIONS.md section 8).
#include "policy/routing.h"

#include <algorithm>

namespace policy {

namespace {
bool digits_only(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
}  // namespace

RouteTable::RouteTable(std::vector<std::string> upstreams) : upstreams_(std::move(upstreams)) {}

std::optional<UpstreamIndex> RouteTable::upstream_named(std::string_view name) const {
  auto it = std::find(upstreams_.begin(), upstreams_.end(), name);
  if (it == upstreams_.end()) return std::nullopt;
  return UpstreamIndex(it - upstreams_.begin());
}

bool RouteTable::add_prefix(std::string_view prefix, std::string_view upstream) {
  auto index = upstream_named(upstream);
  if (!index || !digits_only(prefix)) return false;
  prefixes_[std::string(prefix)] = *index;
  longest_prefix_ = std::max(longest_prefix_, prefix.size());
  return true;
}

bool RouteTable::add_override(std::string_view msisdn, std::string_view upstream) {
  auto index = upstream_named(upstream);
  if (!index || !digits_only(msisdn)) return false;
  overrides_[std::string(msisdn)] = *index;
  return true;
}

std::optional<UpstreamIndex> RouteTable::route(std::string_view msisdn,
                                               std::optional<std::string_view> ported) const {
  if (ported) {
    if (auto index = upstream_named(*ported)) return index;
  }
  if (!overrides_.empty()) {
    if (auto it = overrides_.find(std::string(msisdn)); it != overrides_.end()) return it->second;
  }
  std::string key(msisdn.substr(0, std::min(msisdn.size(), longest_prefix_)));
  for (; !key.empty(); key.pop_back()) {
    if (auto it = prefixes_.find(key); it != prefixes_.end()) return it->second;
  }
  return std::nullopt;
}

}  // namespace policy
