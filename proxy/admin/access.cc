// The admin API's gate (proxy/admin/access.h).
#include "proxy/admin/access.h"

#include <arpa/inet.h>
#include <sodium.h>

#include <cctype>
#include <cstring>

namespace proxy::admin {

std::string_view bearer_token(std::string_view authorization) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  authorization = trim(authorization);
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size() || authorization[scheme.size()] != ' ') return {};
  for (size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return {};
  return trim(authorization.substr(scheme.size() + 1));
}

bool same_secret(std::string_view given, std::string_view expected) {
  unsigned char a[crypto_generichash_BYTES], b[crypto_generichash_BYTES];
  crypto_generichash(a, sizeof a, reinterpret_cast<const unsigned char*>(given.data()), given.size(), nullptr, 0);
  crypto_generichash(b, sizeof b, reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), nullptr, 0);
  return sodium_memcmp(a, b, sizeof a) == 0;
}

bool address_allowed(const std::vector<Cidr>& ranges, std::string_view ip) {
  sockaddr_storage addr{};
  std::string text(ip);
  if (inet_pton(AF_INET, text.c_str(), &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr) == 1) addr.ss_family = AF_INET;
  else if (inet_pton(AF_INET6, text.c_str(), &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr) == 1) addr.ss_family = AF_INET6;
  else return false;
  for (const Cidr& range : ranges)
    if (range.contains(reinterpret_cast<const sockaddr*>(&addr))) return true;
  return false;
}

Access check_access(const AdminConfig& admin, std::string_view peer, std::string_view authorization) {
  if (admin.token.empty()) return Access::off;
  if (!address_allowed(admin.allow_ips, peer)) return Access::forbidden;
  std::string_view token = bearer_token(authorization);
  if (token.empty() || !same_secret(token, admin.token)) return Access::unauthorized;
  return Access::allowed;
}

}  // namespace proxy::admin
