// Which operator a normalised number goes to: per-number override, else the longest prefix.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace policy {

using UpstreamIndex = int;

class RouteTable {
 public:
  // Upstream names are given once; routes refer to them by index.
  explicit RouteTable(std::vector<std::string> upstreams = {});

  std::optional<UpstreamIndex> upstream_named(std::string_view name) const;
  const std::string& upstream_name(UpstreamIndex i) const { return upstreams_[size_t(i)]; }
  size_t upstream_count() const { return upstreams_.size(); }

  // Both return false for an unknown upstream name or a prefix/number that is not digits.
  bool add_prefix(std::string_view prefix, std::string_view upstream);
  bool add_override(std::string_view msisdn, std::string_view upstream);

  // `ported` is the operator the state store holds for this number, if any: it wins over the
  // static overrides, which win over the prefixes.
  std::optional<UpstreamIndex> route(std::string_view msisdn, std::optional<std::string_view> ported = {}) const;
  bool operator==(const RouteTable&) const = default;

 private:
  std::vector<std::string> upstreams_;
  std::unordered_map<std::string, UpstreamIndex> prefixes_;
  std::unordered_map<std::string, UpstreamIndex> overrides_;
  size_t longest_prefix_ = 0;
};

}  // namespace policy
