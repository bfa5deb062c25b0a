// TLS for the customer port with OpenSSL over memory BIOs: a server context loaded from files, and
// one engine per connection that turns ciphertext into plaintext and back without touching a socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace proxy {

struct TlsFiles {
  std::string certificate, key, client_ca;  // client_ca empty: client certificates are not checked against a CA
  bool operator==(const TlsFiles&) const = default;
};

// TLS 1.2 and 1.3 only, forward-secret AEAD ciphers only, no renegotiation. Immutable once loaded:
// a SIGHUP builds a new one, and connections keep the one they started with.
class TlsServerContext {
 public:
  // nullptr with `error` set when a file is missing or unreadable, or the key is not the certificate's.
  static std::shared_ptr<const TlsServerContext> load(const TlsFiles& files, std::string& error);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  SSL_CTX* native() const { return ctx_; }
  const TlsFiles& files() const { return files_; }
  const std::string& fingerprint() const { return fingerprint_; }  // the server certificate's SHA-256
  const std::string& not_after() const { return not_after_; }      // its expiry, for the log

 private:
  TlsServerContext() = default;
  SSL_CTX* ctx_ = nullptr;
  TlsFiles files_;
  std::string fingerprint_, not_after_;
};

// "AB:CD:..." (as `openssl x509 -fingerprint -sha256` prints it) from any case, with or without
// colons; empty when it is not 64 hex digits.
std::string normalize_fingerprint(std::string_view text);

// One TLS session, either side (the server side is the proxy's; the client side serves tests).
// Ciphertext from the peer goes in with put_ciphertext(); plaintext comes out of read_plaintext().
// Plaintext to send goes in with write_plaintext(); ciphertext for the peer comes out of
// take_ciphertext(). Memory BIOs never block, so every write is whole.
class TlsEngine {
 public:
  enum class Read { data, want_more, closed, failed };

  TlsEngine(std::shared_ptr<const TlsServerContext> context);  // a server session
  TlsEngine(SSL_CTX* client_ctx, bool client);                  // any session over a caller's context (tests)
  ~TlsEngine();
  TlsEngine(const TlsEngine&) = delete;
  TlsEngine& operator=(const TlsEngine&) = delete;

  void put_ciphertext(const void* data, size_t n);
  // Decrypts at most `room` bytes into `into` (and drives the handshake). `got` is set on data.
  Read read_plaintext(uint8_t* into, size_t room, size_t& got);
  // False once the session failed, or before the handshake finished (nothing can be sealed yet).
  bool write_plaintext(std::string_view plain);
  // Appends the ciphertext waiting for the peer (handshake messages, records, alerts).
  void take_ciphertext(std::string& out);
  size_t pending_ciphertext() const;
  // A close_notify for the peer (once); then take_ciphertext().
  void shutdown();

  bool handshake_done() const { return handshake_done_; }
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }  // why it failed
  std::string protocol() const;                          // "TLSv1.3", for the log
  // The peer's certificate, once the handshake is done: its SHA-256 ("AB:CD:..."; empty if it
  // sent none) and whether it verified against the context's client_ca.
  const std::string& peer_fingerprint() const { return peer_fingerprint_; }
  bool peer_verified() const { return peer_verified_; }

 private:
  void handshake_finished();
  Read fail(int ssl_error);

  std::shared_ptr<const TlsServerContext> context_;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // ciphertext from the peer (owned by ssl_)
  BIO* out_ = nullptr;  // ciphertext for the peer (owned by ssl_)
  bool handshake_done_ = false;
  bool failed_ = false;
  bool shutdown_sent_ = false;
  bool peer_verified_ = false;
  std::string error_;
  std::string peer_fingerprint_;
};

}  // namespace proxy
