// The TLS context and engine (proxy/net/tls.h), on OpenSSL's memory BIOs.
#include "proxy/net/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fmt/format.h>

#include <cctype>
#include <cstdio>

namespace proxy {

namespace {

// TLS 1.2: ECDHE key exchange (forward secrecy) and AEAD ciphers only (Mozilla's "intermediate"
// list without DHE). TLS 1.3's own suites are all AEAD and stay at OpenSSL's default.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr unsigned char kSessionContext[] = "hajib-smpps";

// The first error on OpenSSL's queue, then the queue cleared (it is per thread and would
// otherwise be blamed on the next connection).
std::string openssl_error(std::string_view fallback) {
  unsigned long code = ERR_get_error();
  std::string text(fallback);
  if (code) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    text = buf;
  }
  ERR_clear_error();
  return text;
}

std::string sha256_fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!cert || !X509_digest(cert, EVP_sha256(), md, &n)) return {};
  std::string out;
  for (unsigned i = 0; i < n; ++i) out += fmt::format("{}{:02X}", i ? ":" : "", md[i]);
  return out;
}

std::string asn1_time_text(const ASN1_TIME* t) {
  BIO* b = BIO_new(BIO_s_mem());
  if (!b) return {};
  ASN1_TIME_print(b, t);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, size_t(n));
  BIO_free(b);
  return out;
}

// A PEM key without a passphrase; a prompt for one would block the daemon.
EVP_PKEY* read_private_key(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return nullptr;
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
  std::fclose(f);
  return key;
}

bool readable(const std::string& path, std::string& error, std::string_view what) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = fmt::format("cannot read {} {}", what, path);
    return false;
  }
  std::fclose(f);
  return true;
}

// Without a client_ca a client certificate is not checked against anyone: an account pins it by
// its fingerprint. Its dates still count, so that an expired certificate is refused either way.
int check_dates_only(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok) return 1;
  int error = X509_STORE_CTX_get_error(store);
  return error != X509_V_ERR_CERT_HAS_EXPIRED && error != X509_V_ERR_CERT_NOT_YET_VALID;
}

}  // namespace

std::string normalize_fingerprint(std::string_view text) {
  std::string hex;
  for (char ch : text) {
    if (ch == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(ch))) return {};
    hex += char(std::toupper(static_cast<unsigned char>(ch)));
  }
  if (hex.size() != 64) return {};
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) out += (i ? ":" : "") + hex.substr(i, 2);
  return out;
}

std::shared_ptr<const TlsServerContext> TlsServerContext::load(const TlsFiles& files, std::string& error) {
  if (!readable(files.certificate, error, "tls.certificate") || !readable(files.key, error, "tls.key") ||
      (!files.client_ca.empty() && !readable(files.client_ca, error, "tls.client_ca")))
    return nullptr;
  std::shared_ptr<TlsServerContext> c(new TlsServerContext());
  c->files_ = files;
  c->ctx_ = SSL_CTX_new(TLS_server_method());
  SSL_CTX* ctx = c->ctx_;
  if (!ctx) {
    error = openssl_error("cannot create a TLS context");
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);  // an idle session holds no record buffers
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  if (!SSL_CTX_set_cipher_list(ctx, kTls12Ciphers)) {
    error = openssl_error("the TLS 1.2 cipher list was refused");
    return nullptr;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, files.certificate.c_str()) != 1) {
    error = fmt::format("tls.certificate {} is not a PEM certificate: {}", files.certificate, openssl_error("unreadable"));
    return nullptr;
  }
  EVP_PKEY* key = read_private_key(files.key);
  if (!key) {
    error = fmt::format("tls.key {} is not a PEM private key (an encrypted one cannot be read unattended): {}", files.key,
                        openssl_error("unreadable"));
    return nullptr;
  }
  bool matches = SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(key);
  if (!matches) {
    error = fmt::format("tls.key {} does not match tls.certificate {}", files.key, files.certificate);
    ERR_clear_error();
    return nullptr;
  }
  if (!files.client_ca.empty()) {
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str());
    if (!names || SSL_CTX_load_verify_locations(ctx, files.client_ca.c_str(), nullptr) != 1) {
      if (names) sk_X509_NAME_pop_free(names, X509_NAME_free);
      error = fmt::format("tls.client_ca {} holds no PEM certificate: {}", files.client_ca, openssl_error("unreadable"));
      return nullptr;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);  // a certificate is asked for; one that does not verify ends the handshake
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, check_dates_only);  // asked for, for accounts that pin one
  }
  X509* cert = SSL_CTX_get0_certificate(ctx);
  c->fingerprint_ = sha256_fingerprint(cert);
  c->not_after_ = asn1_time_text(X509_get0_notAfter(cert));
  ERR_clear_error();
  return c;
}

TlsServerContext::~TlsServerContext() { SSL_CTX_free(ctx_); }

TlsEngine::TlsEngine(std::shared_ptr<const TlsServerContext> context) : TlsEngine(context->native(), false) {
  context_ = std::move(context);
}

TlsEngine::TlsEngine(SSL_CTX* ctx, bool client) {
  ssl_ = SSL_new(ctx);
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (!ssl_ || !in_ || !out_) {
    BIO_free(in_);
    BIO_free(out_);
    in_ = out_ = nullptr;
    failed_ = true;
    error_ = openssl_error("out of memory for a TLS session");
    return;
  }
  // An empty memory BIO reads as "retry later", not as the end of the stream.
  BIO_set_mem_eof_return(in_, -1);
  SSL_set_bio(ssl_, in_, out_);
  if (client) SSL_set_connect_state(ssl_);
  else SSL_set_accept_state(ssl_);
}

TlsEngine::~TlsEngine() { SSL_free(ssl_); }

void TlsEngine::put_ciphertext(const void* data, size_t n) {
  if (!failed_ && n) BIO_write(in_, data, int(n));
}

TlsEngine::Read TlsEngine::read_plaintext(uint8_t* into, size_t room, size_t& got) {
  got = 0;
  if (failed_) return Read::failed;
  if (!handshake_done_) {
    int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      int e = SSL_get_error(ssl_, rc);
      return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? Read::want_more : fail(e);
    }
    handshake_finished();
  }
  if (room == 0) return Read::want_more;
  size_t n = 0;
  int rc = SSL_read_ex(ssl_, into, room, &n);
  if (rc == 1) {
    got = n;
    return Read::data;
  }
  int e = SSL_get_error(ssl_, rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Read::want_more;
  if (e == SSL_ERROR_ZERO_RETURN) return Read::closed;
  return fail(e);
}

TlsEngine::Read TlsEngine::fail(int ssl_error) {
  failed_ = true;
  error_ = ssl_error == SSL_ERROR_SSL ? openssl_error("TLS error") : fmt::format("TLS error {}", ssl_error);
  ERR_clear_error();
  return Read::failed;
}

void TlsEngine::handshake_finished() {
  handshake_done_ = true;
  X509* peer = SSL_get0_peer_certificate(ssl_);
  peer_fingerprint_ = sha256_fingerprint(peer);
  peer_verified_ = peer && SSL_get_verify_result(ssl_) == X509_V_OK;
}

bool TlsEngine::write_plaintext(std::string_view plain) {
  if (failed_ || !handshake_done_ || shutdown_sent_) return false;
  if (plain.empty()) return true;
  size_t written = 0;
  if (SSL_write_ex(ssl_, plain.data(), plain.size(), &written) != 1 || written != plain.size()) {
    fail(SSL_ERROR_SSL);
    return false;
  }
  return true;
}

void TlsEngine::take_ciphertext(std::string& out) {
  if (!out_) return;
  size_t n = BIO_ctrl_pending(out_);
  if (n == 0) return;
  size_t at = out.size();
  out.resize(at + n);
  int got = BIO_read(out_, out.data() + at, int(n));
  out.resize(at + size_t(got > 0 ? got : 0));
}

size_t TlsEngine::pending_ciphertext() const { return out_ ? BIO_ctrl_pending(out_) : 0; }

void TlsEngine::shutdown() {
  if (failed_ || shutdown_sent_ || !handshake_done_) return;
  shutdown_sent_ = true;
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::string TlsEngine::protocol() const { return ssl_ ? SSL_get_version(ssl_) : "none"; }

}  // namespace proxy
