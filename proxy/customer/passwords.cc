// libsodium crypto_pwhash_str (Argon2id) for bind passwords.
#include "proxy/customer/passwords.h"

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

namespace proxy {

BindVerifier::BindVerifier(uv_loop_t* loop, uint64_t& argon2_runs) : loop_(loop), argon2_runs_(argon2_runs) {
  randombytes_buf(key_.data(), key_.size());
}

BindVerifier::Digest BindVerifier::digest(const std::string& hash, const std::string& password) const {
  // The stored hash is part of the input, so that a new password_hash in the config forgets the old password.
  Digest d;
  crypto_generichash_state state;
  crypto_generichash_init(&state, key_.data(), key_.size(), d.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(hash.data()), hash.size() + 1);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(password.data()), password.size());
  crypto_generichash_final(&state, d.data(), d.size());
  return d;
}

bool BindVerifier::remembered(const std::string& account, const std::string& hash, const std::string& password) const {
  auto it = verified_.find(account);
  return it != verified_.end() && sodium_memcmp(it->second.data(), digest(hash, password).data(), it->second.size()) == 0;
}

void BindVerifier::verify(const std::string& account, const std::string& hash, const std::string& password, Done done) {
  auto job = std::make_unique<Job>();
  job->self = this;
  job->account = account;
  job->hash = hash;
  job->password = password;
  job->done = std::move(done);
  queue_.push_back(std::move(job));
  start_next();
}

void BindVerifier::start_next() {
  if (running_ || queue_.empty()) return;
  running_ = true;
  Job* job = queue_.front().release();
  queue_.pop_front();
  job->work.data = job;
  ++argon2_runs_;
  uv_queue_work(
      loop_, &job->work, [](uv_work_t* w) {
        auto* j = static_cast<Job*>(w->data);
        j->ok = verify_password(j->hash, j->password);
      },
      [](uv_work_t* w, int) {
        std::unique_ptr<Job> j(static_cast<Job*>(w->data));
        BindVerifier* self = j->self;
        self->running_ = false;
        if (j->ok) self->verified_[j->account] = self->digest(j->hash, j->password);
        j->done(j->ok);
        self->start_next();
      });
}

}  // namespace proxy
