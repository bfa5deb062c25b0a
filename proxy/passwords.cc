// libsodium crypto_pwhash_str (Argon2id) for bind passwords.
#include "proxy/passwords.h"

#include <sodium.h>

namespace proxy {

// SMPP passwords are at most 8 characters, so the hash's strength is what protects a leaked
// config; the memory cost is kept moderate so that a burst of binds does not need gigabytes.
constexpr unsigned long long kOpsLimit = 3;
constexpr size_t kMemLimit = 16 * 1024 * 1024;

bool passwords_init() { return sodium_init() >= 0; }

std::string hash_password(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), kOpsLimit, kMemLimit) != 0) return {};
  return out;
}

bool verify_password(const std::string& hash, std::string_view password) {
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

bool looks_like_password_hash(std::string_view s) { return s.starts_with("$argon2id$") || s.starts_with("$argon2i$"); }

}  // namespace proxy
