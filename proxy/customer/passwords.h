// Bind passwords: stored as libsodium Argon2id hashes, verified off the loop thread.
#pragma once

#include <memory>
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

#include <uv.h>

#include <array>
#include <deque>
#include <functional>
#include <unordered_map>

namespace proxy {

// Verifies bind passwords on libuv's worker pool, one Argon2 at a time (each takes 16 MiB and
// tens of ms), and remembers the last password that verified for each account as a keyed
// BLAKE2b digest, so that a storm of reconnecting binds costs one Argon2, not a thousand, and so
// that an account under a guessing storm can still let its real customer in without Argon2.
class BindVerifier {
 public:
  using Done = std::function<void(bool ok)>;
  // `argon2_runs` is the caller's counter of Argon2 checks started.
  BindVerifier(uv_loop_t* loop, uint64_t& argon2_runs);
  // True if `password` is the one that last verified against `hash` for `account`: no Argon2 needed.
  bool remembered(const std::string& account, const std::string& hash, const std::string& password) const;
  // Runs Argon2 (queued behind the others); `done` runs later, on the loop thread.
  void verify(const std::string& account, const std::string& hash, const std::string& password, Done done);

 private:
  using Digest = std::array<unsigned char, 32>;
  struct Job {
    uv_work_t work{};
    BindVerifier* self = nullptr;
    std::string account, hash, password;
    bool ok = false;
    Done done;
  };
  Digest digest(const std::string& hash, const std::string& password) const;
  void start_next();

  uv_loop_t* loop_;
  std::array<unsigned char, 32> key_{};  // per process: digests are useless outside it
  std::unordered_map<std::string, Digest> verified_;
  std::deque<std::unique_ptr<Job>> queue_;
  bool running_ = false;
  uint64_t& argon2_runs_;
};

}  // namespace proxy
