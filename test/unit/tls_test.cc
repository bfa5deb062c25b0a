// proxy/net/tls: the engine against OpenSSL's own client in memory, the context's file checks, and
// the tls keys of the configuration. Certificates are made at run time by test/tls/make-certs.sh.
#include <catch2/catch.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "proxy/config/config.h"
#include "proxy/net/tls.h"

namespace {

namespace fs = std::filesystem;

// One directory of fresh certificates for the whole run.
const fs::path& certs() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("hajib-tls-" + std::to_string(::getpid()));
    std::string command = std::string(HAJIB_SOURCE_DIR "/test/tls/make-certs.sh ") + d.string();
    REQUIRE(std::system(command.c_str()) == 0);
    std::atexit([] { fs::remove_all(fs::temp_directory_path() / ("hajib-tls-" + std::to_string(::getpid()))); });
    return d;
  }();
  return dir;
}
std::string cert(const char* name) { return (certs() / name).string(); }

std::shared_ptr<const proxy::TlsServerContext> server_context(bool with_client_ca = true) {
  std::string error;
  auto c = proxy::TlsServerContext::load({cert("server.pem"), cert("server.key"), with_client_ca ? cert("ca.pem") : ""}, error);
  INFO(error);
  REQUIRE(c);
  return c;
}

// OpenSSL's own client, trusting the test CA, optionally with a client certificate, optionally
// capped at an old protocol version.
struct Client {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  std::unique_ptr<proxy::TlsEngine> engine;
  explicit Client(const char* certificate = nullptr, int max_version = 0) {
    SSL_CTX_load_verify_locations(ctx, cert("ca.pem").c_str(), nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (certificate) {
      std::string name(certificate);
      SSL_CTX_use_certificate_file(ctx, cert((name + ".pem").c_str()).c_str(), SSL_FILETYPE_PEM);
      SSL_CTX_use_PrivateKey_file(ctx, cert((name + ".key").c_str()).c_str(), SSL_FILETYPE_PEM);
    }
    if (max_version) {
      SSL_CTX_set_security_level(ctx, 0);  // OpenSSL 3 would not even offer TLS 1.0/1.1 otherwise
      SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0");
      SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx, max_version);
    }
    engine = std::make_unique<proxy::TlsEngine>(ctx, true);
  }
  ~Client() {
    engine.reset();
    SSL_CTX_free(ctx);
  }
};

// Reads whatever plaintext the engine yields now (driving its handshake); the last result.
proxy::TlsEngine::Read drain(proxy::TlsEngine& e, std::string& plain) {
  uint8_t buf[4096];
  for (;;) {
    size_t got = 0;
    auto r = e.read_plaintext(buf, sizeof buf, got);
    if (r != proxy::TlsEngine::Read::data) return r;
    plain.append(reinterpret_cast<char*>(buf), got);
  }
}

// Moves ciphertext both ways until neither side has any to send; `chunk` caps each delivery
// (1: one byte at a time). Returns false as soon as either side failed.
bool pump(proxy::TlsEngine& client, proxy::TlsEngine& server, std::string& at_client, std::string& at_server, size_t chunk = 1 << 20) {
  for (int round = 0; round < 100; ++round) {
    std::string to_server, to_client;
    client.take_ciphertext(to_server);
    server.take_ciphertext(to_client);
    drain(client, at_client);  // a client may have output only after a first read call
    client.take_ciphertext(to_server);
    if (to_server.empty() && to_client.empty() && round > 0) return !client.failed() && !server.failed();
    for (size_t i = 0; i < to_server.size(); i += chunk) {
      server.put_ciphertext(to_server.data() + i, std::min(chunk, to_server.size() - i));
      drain(server, at_server);
    }
    if (to_server.empty()) drain(server, at_server);
    for (size_t i = 0; i < to_client.size(); i += chunk) {
      client.put_ciphertext(to_client.data() + i, std::min(chunk, to_client.size() - i));
      drain(client, at_client);
    }
    if (client.failed() || server.failed()) return false;
  }
  return false;
}

}  // namespace

TEST_CASE("tls: OpenSSL's client completes a TLS 1.2+ handshake with the engine, and data flows both ways") {
  Client client;
  proxy::TlsEngine server(server_context());
  std::string at_client, at_server;
  REQUIRE(pump(*client.engine, server, at_client, at_server));
  CHECK(server.handshake_done());
  CHECK(client.engine->handshake_done());
  CHECK(server.protocol() == "TLSv1.3");
  CHECK(server.peer_fingerprint().empty());  // no client certificate was sent
  REQUIRE(client.engine->write_plaintext("bind_transceiver"));
  REQUIRE(server.write_plaintext("bind_transceiver_resp"));
  REQUIRE(pump(*client.engine, server, at_client, at_server));
  CHECK(at_server == "bind_transceiver");
  CHECK(at_client == "bind_transceiver_resp");
}

TEST_CASE("tls: a TLS 1.2 client is served too") {
  Client client;
  SSL_CTX_set_max_proto_version(client.ctx, TLS1_2_VERSION);
  client.engine = std::make_unique<proxy::TlsEngine>(client.ctx, true);
  proxy::TlsEngine server(server_context());
  std::string at_client, at_server;
  REQUIRE(pump(*client.engine, server, at_client, at_server));
  CHECK(server.protocol() == "TLSv1.2");
}

TEST_CASE("tls: handshake and records split into single bytes across reads are put back together") {
  Client client;
  proxy::TlsEngine server(server_context());
  std::string at_client, at_server;
  REQUIRE(pump(*client.engine, server, at_client, at_server, 1));
  const std::string pdu(5000, 'p');  // more than one read, less than one record
  REQUIRE(client.engine->write_plaintext(pdu));
  REQUIRE(pump(*client.engine, server, at_client, at_server, 1));
  CHECK(at_server == pdu);
}

TEST_CASE("tls: plaintext is taken at most `room` bytes at a time; the rest waits in the engine") {
  Client client;
  proxy::TlsEngine server(server_context());
  std::string at_client, at_server;
  REQUIRE(pump(*client.engine, server, at_client, at_server));
  REQUIRE(client.engine->write_plaintext(std::string(100, 'x')));
  std::string ciphertext;
  client.engine->take_ciphertext(ciphertext);
  server.put_ciphertext(ciphertext.data(), ciphertext.size());
  uint8_t buf[16];
  size_t got = 0, total = 0;
  while (server.read_plaintext(buf, sizeof buf, got) == proxy::TlsEngine::Read::data) {
    CHECK(got <= sizeof buf);
    total += got;
  }
  CHECK(total == 100);
}

TEST_CASE("tls: bytes that are not TLS fail the handshake with a reason, and nothing is decrypted") {
  proxy::TlsEngine server(server_context());
  const std::string garbage = std::string("\x00\x00\x00\x10\x00\x00\x00\x15", 8) + std::string(64, '\x41');
  server.put_ciphertext(garbage.data(), garbage.size());
  std::string plain;
  CHECK(drain(server, plain) == proxy::TlsEngine::Read::failed);
  CHECK(plain.empty());
  CHECK(server.failed());
  CHECK_FALSE(server.error().empty());
  CHECK_FALSE(server.write_plaintext("anything"));
  server.put_ciphertext(garbage.data(), garbage.size());  // later bytes are ignored, not a crash
  CHECK(drain(server, plain) == proxy::TlsEngine::Read::failed);
}

TEST_CASE("tls: a client that offers only TLS 1.0 or 1.1 is refused") {
  for (int version : {TLS1_VERSION, TLS1_1_VERSION}) {
    INFO(version);
    Client client(nullptr, version);
    proxy::TlsEngine server(server_context());
    std::string at_client, at_server;
    CHECK_FALSE(pump(*client.engine, server, at_client, at_server));
    CHECK(server.failed());
    CHECK_FALSE(server.handshake_done());
    CHECK_THAT(server.error(), Catch::Contains("protocol"));
  }
}

TEST_CASE("tls: a client certificate from client_ca is seen with its SHA-256 fingerprint and verified") {
  Client client("client");
  proxy::TlsEngine server(server_context());
  std::string at_client, at_server;
  REQUIRE(pump(*client.engine, server, at_client, at_server));
  CHECK(server.peer_verified());
  std::string expected;
  {
    std::string command = "openssl x509 -noout -fingerprint -sha256 -in " + cert("client.pem") + " > " + cert("client.fp");
    REQUIRE(std::system(command.c_str()) == 0);
    std::ifstream in(cert("client.fp"));
    std::getline(in, expected);
  }
  CHECK("sha256 Fingerprint=" + server.peer_fingerprint() == expected);
}

TEST_CASE("tls: with client_ca, a certificate from another CA or an expired one ends the handshake") {
  for (const char* name : {"stranger", "expired-client"}) {
    INFO(name);
    Client client(name);
    proxy::TlsEngine server(server_context());
    std::string at_client, at_server;
    CHECK_FALSE(pump(*client.engine, server, at_client, at_server));
    CHECK(server.failed());
    CHECK_THAT(server.error(), Catch::Contains("certificate"));
  }
}

TEST_CASE("tls: without client_ca, any unexpired client certificate is taken (accounts pin it), an expired one is not") {
  {
    Client client("stranger");
    proxy::TlsEngine server(server_context(false));
    std::string at_client, at_server;
    REQUIRE(pump(*client.engine, server, at_client, at_server));
    CHECK_FALSE(server.peer_fingerprint().empty());
    CHECK_FALSE(server.peer_verified());
  }
  Client client("expired-client");
  proxy::TlsEngine server(server_context(false));
  std::string at_client, at_server;
  CHECK_FALSE(pump(*client.engine, server, at_client, at_server));
}

TEST_CASE("tls: shutdown() queues a close_notify the peer reads as the end of the session") {
  Client client;
  proxy::TlsEngine server(server_context());
  std::string at_client, at_server;
  REQUIRE(pump(*client.engine, server, at_client, at_server));
  server.shutdown();
  std::string ciphertext;
  server.take_ciphertext(ciphertext);
  REQUIRE_FALSE(ciphertext.empty());
  client.engine->put_ciphertext(ciphertext.data(), ciphertext.size());
  std::string plain;
  CHECK(drain(*client.engine, plain) == proxy::TlsEngine::Read::closed);
  CHECK_FALSE(server.write_plaintext("after close_notify"));
}

TEST_CASE("tls: the context refuses a missing file, a file that is not PEM, and a key that is not the certificate's") {
  std::string error;
  CHECK_FALSE(proxy::TlsServerContext::load({cert("nothing.pem"), cert("server.key"), ""}, error));
  CHECK_THAT(error, Catch::Contains("cannot read tls.certificate"));
  CHECK_FALSE(proxy::TlsServerContext::load({cert("server.key"), cert("server.key"), ""}, error));
  CHECK_THAT(error, Catch::Contains("is not a PEM certificate"));
  CHECK_FALSE(proxy::TlsServerContext::load({cert("server.pem"), cert("server2.key"), ""}, error));
  CHECK_THAT(error, Catch::Contains("does not match"));
  CHECK_FALSE(proxy::TlsServerContext::load({cert("server.pem"), cert("server.key"), cert("server.key")}, error));
  CHECK_THAT(error, Catch::Contains("tls.client_ca"));
}

TEST_CASE("tls: fingerprints are compared in one form, whatever case and colons they were written with") {
  const std::string upper = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
  CHECK(proxy::normalize_fingerprint("abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789") == upper);
  CHECK(proxy::normalize_fingerprint(upper) == upper);
  CHECK(proxy::normalize_fingerprint("abcd").empty());
  CHECK(proxy::normalize_fingerprint(std::string(64, 'g')).empty());
}

// ---- the configuration's tls keys ----

namespace {
std::string base_config(const std::string& extra_listen, const std::string& rest, const std::string& account_extra = "") {
  return R"(listen: { smpp: "127.0.0.1:0", stats: "127.0.0.1:0")" + extra_listen + R"( }
state: memory
upstreams:
  stc: { host: 127.0.0.1, port: 2776, system_id: hajib, password: pw }
routes:
  prefixes: { "96650": stc }
accounts:
  acme: { password_hash: "$argon2id$v=19$m=16384,t=3,p=1$KPp0qP74xOx/MV3f6tQNPw$BFbPvsHhaEZECTbO+UB4ptytLCejhsZf2dsKLE1Rgd8", allow_ips: [ "127.0.0.1/32" ], entity: private, senders: { ACME: service })" +
         account_extra + R"( }
)" + rest;
}
const std::string kSmpps = R"(, smpps: "127.0.0.1:0")";
std::string tls_files(const char* certificate, const char* key, const char* ca = nullptr) {
  return "tls: { certificate: \"" + cert(certificate) + "\", key: \"" + cert(key) + "\"" +
         (ca ? ", client_ca: \"" + cert(ca) + "\"" : std::string()) + " }\n";
}
std::vector<proxy::ConfigError> load(const std::string& yaml, std::optional<proxy::Config>* out = nullptr) {
  fs::path file = certs() / "hajib.yaml";
  std::ofstream(file) << yaml;
  std::vector<proxy::ConfigError> errors;
  auto config = proxy::load_config(file.string(), errors);
  if (out) *out = std::move(config);
  return errors;
}
std::string first_error(const std::string& yaml) {
  auto errors = load(yaml);
  return errors.empty() ? "" : errors[0].message;
}
}  // namespace

TEST_CASE("config: listen.smpps with tls loads, with the client certificate rules of an account") {
  std::optional<proxy::Config> config;
  auto errors = load(base_config(kSmpps, tls_files("server.pem", "server.key", "ca.pem"),
                                 ", tls_client: { required: true, fingerprint_sha256: [ \"" + std::string(64, 'a') + "\" ] }"),
                     &config);
  for (const auto& e : errors) INFO(e.to_string());
  REQUIRE(config);
  REQUIRE(config->smpps_listen);
  REQUIRE(config->tls);
  const auto* acme = config->account("acme");
  CHECK(acme->tls_client_required);
  CHECK(acme->tls_client_fingerprints == std::vector<std::string>{proxy::normalize_fingerprint(std::string(64, 'A'))});
}

TEST_CASE("config: a missing file, a key that is not the certificate's, or a half-set TLS port is an error") {
  CHECK_THAT(first_error(base_config(kSmpps, tls_files("absent.pem", "server.key"))), Catch::Contains("cannot read tls.certificate"));
  CHECK_THAT(first_error(base_config(kSmpps, tls_files("server.pem", "server2.key"))), Catch::Contains("does not match"));
  CHECK_THAT(first_error(base_config(kSmpps, tls_files("server.pem", "server.key", "absent.pem"))), Catch::Contains("tls.client_ca"));
  CHECK_THAT(first_error(base_config(kSmpps, "")), Catch::Contains("listen.smpps needs tls"));
  CHECK_THAT(first_error(base_config("", tls_files("server.pem", "server.key"))), Catch::Contains("listen.smpps is not"));
  CHECK_THAT(first_error(base_config(kSmpps, "tls: { certificate: \"" + cert("server.pem") + "\" }\n")), Catch::Contains("tls needs key"));
}

TEST_CASE("config: an account's tls_client needs a TLS port and something to check the certificate against") {
  const std::string required = ", tls_client: { required: true }";
  CHECK_THAT(first_error(base_config("", "", required)), Catch::Contains("listen.smpps is not set"));
  CHECK_THAT(first_error(base_config(kSmpps, tls_files("server.pem", "server.key"), required)), Catch::Contains("needs fingerprint_sha256"));
  CHECK(load(base_config(kSmpps, tls_files("server.pem", "server.key", "ca.pem"), required)).empty());
  CHECK_THAT(first_error(base_config(kSmpps, tls_files("server.pem", "server.key"), ", tls_client: { required: true, fingerprint_sha256: \"12:34\" }")),
             Catch::Contains("64 hex digits"));
  CHECK_THAT(first_error(base_config(kSmpps, tls_files("server.pem", "server.key"), ", tls_client: { requird: true }")),
             Catch::Contains("unknown key 'requird'"));
}

TEST_CASE("config: a changed listen.smpps needs a restart; new certificate files do not") {
  std::optional<proxy::Config> running, moved, renewed;
  load(base_config(R"(, smpps: "127.0.0.1:3550")", tls_files("server.pem", "server.key")), &running);
  load(base_config(R"(, smpps: "127.0.0.1:3551")", tls_files("server.pem", "server.key")), &moved);
  load(base_config(R"(, smpps: "127.0.0.1:3550")", tls_files("server2.pem", "server2.key")), &renewed);
  REQUIRE((running && moved && renewed));
  CHECK(proxy::sections_needing_restart(*running, *moved) == std::vector<std::string>{"listen"});
  CHECK(proxy::sections_needing_restart(*running, *renewed).empty());
  CHECK(running->tls->fingerprint() != renewed->tls->fingerprint());
}

TEST_CASE("tls: a TLS 1.2 client asking to renegotiate is told no; the server's session is not harmed") {
  // OpenSSL's client by hand (the engine does not renegotiate), over the same memory BIOs.
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_load_verify_locations(ctx, cert("ca.pem").c_str(), nullptr);
  SSL* client = SSL_new(ctx);
  BIO* to_client = BIO_new(BIO_s_mem());
  BIO* from_client = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(to_client, -1);
  SSL_set_bio(client, to_client, from_client);
  SSL_set_connect_state(client);
  proxy::TlsEngine server(server_context());
  std::string at_server;
  auto exchange = [&] {
    for (int i = 0; i < 10; ++i) {
      char buf[16384];
      int n;
      while ((n = BIO_read(from_client, buf, sizeof buf)) > 0) server.put_ciphertext(buf, size_t(n));
      drain(server, at_server);
      std::string back;
      server.take_ciphertext(back);
      if (!back.empty()) BIO_write(to_client, back.data(), int(back.size()));
      if (SSL_do_handshake(client) != 1 && SSL_get_error(client, -1) == SSL_ERROR_SSL) return false;
    }
    return true;
  };
  REQUIRE(exchange());
  REQUIRE(server.handshake_done());
  REQUIRE(SSL_renegotiate(client) == 1);
  CHECK_FALSE(exchange());  // the server answers no_renegotiation, which ends the client's attempt
  CHECK(ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_NO_RENEGOTIATION);
  ERR_clear_error();
  CHECK_FALSE(server.failed());
  SSL_free(client);
  SSL_CTX_free(ctx);
}
