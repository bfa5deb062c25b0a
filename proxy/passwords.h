// Bind passwords: stored as libsodium Argon2id hashes, verified off the loop thread.
#pragma once

#include <string>
#include <string_view>

namespace proxy {

bool passwords_init();  // sodium_init; false if libsodium cannot start
// The string to put in `password_hash:`. Slow on purpose.
std::string hash_password(std::string_view password);
// Blocking and slow (tens of ms): call from a uv_queue_work worker, never on the loop.
bool verify_password(const std::string& hash, std::string_view password);
bool looks_like_password_hash(std::string_view s);

}  // namespace proxy
