// `hajib passwd`: an Argon2 hash for an account's password_hash. The password comes from the
// terminal (not echoed, typed twice) or one line of standard input, never from the command line,
// where ps and the shell's history would keep it.
#include "proxy/ops/commands.h"

#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "proxy/customer/passwords.h"
#include "proxy/ops/common.h"

namespace proxy {

namespace {

// Echo off on the terminal while it lives, restored however the reading ends. It is turned off
// before the first prompt is shown (what was typed earlier is dropped, as getpass does), so that
// nothing typed after a prompt is ever echoed or lost.
class NoEcho {
 public:
  NoEcho() : ok_(tcgetattr(STDIN_FILENO, &saved_) == 0) {
    if (!ok_) return;
    termios quiet = saved_;
    quiet.c_lflag &= tcflag_t(~ECHO);
    quiet.c_lflag |= ECHONL;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  ~NoEcho() {
    if (ok_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }

 private:
  termios saved_{};
  bool ok_;
};

std::optional<std::string> prompt(const char* text) {
  fmt::print(stderr, "{}", text);
  std::fflush(stderr);
  std::string line;
  if (!std::getline(std::cin, line)) return std::nullopt;
  return line;
}

std::optional<std::string> read_password() {
  if (!isatty(STDIN_FILENO)) {
    std::string line;
    if (!std::getline(std::cin, line)) {
      fmt::print(stderr, "hajib passwd: no password on standard input\n");
      return std::nullopt;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  NoEcho quiet;
  auto first = prompt("Password: ");
  auto second = first ? prompt("Again: ") : std::nullopt;
  if (!second) return std::nullopt;
  if (*first != *second) {
    fmt::print(stderr, "hajib passwd: the two passwords differ; nothing printed\n");
    return std::nullopt;
  }
  return first;
}

int passwd() {
  auto password = read_password();
  if (!password) return 1;
  if (password->empty() || password->size() > 8) {
    fmt::print(stderr, "hajib passwd: an SMPP password has 1 to 8 characters\n");
    return 2;
  }
  if (!passwords_init()) return 1;
  std::string hash = hash_password(*password);
  if (hash.empty()) {
    fmt::print(stderr, "hajib passwd: hashing failed (out of memory?)\n");
    return 1;
  }
  fmt::print("{}\n", hash);
  return 0;
}

}  // namespace

void add_passwd(CLI::App& app, OpsRun& run) {
  auto* sub = app.add_subcommand("passwd",
                                 "print an Argon2id hash for an account's password_hash; the password is typed "
                                 "(not echoed, twice) or one line on standard input, never an argument");
  sub->callback([&run] { run = passwd; });
}

}  // namespace proxy
