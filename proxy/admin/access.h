// Who may use the admin API: the caller's address in admin.allow_ips, and the token, compared in constant time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/config/cidr.h"
#include "proxy/config/config.h"

namespace proxy::admin {

// In this order: off (no token configured: 404, as if there were no API), an address outside
// allow_ips (403), no token or a wrong one (401), allowed.
enum class Access { off, forbidden, unauthorized, allowed };
Access check_access(const AdminConfig& admin, std::string_view peer, std::string_view authorization);

// "Bearer TOKEN" (the scheme in any case, spaces around the token ignored); empty if not that form.
std::string_view bearer_token(std::string_view authorization);
// Same bytes, in a time that does not depend on where they differ or on the length of either
// (both are hashed first, then the digests compared with sodium_memcmp).
bool same_secret(std::string_view given, std::string_view expected);
// `ip` as text ("127.0.0.1", "::1", "::ffff:10.1.2.3") inside one of the ranges.
bool address_allowed(const std::vector<Cidr>& ranges, std::string_view ip);

}  // namespace proxy::admin
