// `hajib passwd [PASSWORD]`: an Argon2 hash for an account's password_hash.
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include <iostream>

#include "proxy/customer/passwords.h"
#include "proxy/ops/common.h"

namespace proxy {

int run_passwd(int argc, char** argv) {
  std::string password;
  if (argc > 0) password = argv[0];
  else if (!std::getline(std::cin, password)) {
    fmt::print(stderr, "usage: hajib passwd PASSWORD   (or the password on standard input)\n");
    return 2;
  }
  if (password.empty() || password.size() > 8) {
    fmt::print(stderr, "hajib passwd: an SMPP password has 1 to 8 characters\n");
    return 2;
  }
  if (!passwords_init()) return 1;
  std::string hash = hash_password(password);
  if (hash.empty()) {
    fmt::print(stderr, "hajib passwd: hashing failed (out of memory?)\n");
    return 1;
  }
  fmt::print("{}\n", hash);
  return 0;
}

}  // namespace proxy
