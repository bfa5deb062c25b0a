// The config loader: the example loads; each kind of mistake is reported at its line and column.
#include <catch2/catch.hpp>

#include <filesystem>
#include <optional>
#include <fstream>
#include <sstream>

#include "proxy/config/config.h"

namespace {

struct TempConfig {
  std::filesystem::path dir;
  explicit TempConfig(const std::string& yaml) {
    dir = std::filesystem::temp_directory_path() / ("hajib-config-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "hajib.yaml") << yaml;
  }
  ~TempConfig() { std::filesystem::remove_all(dir); }
  std::string path() const { return (dir / "hajib.yaml").string(); }
  static inline int counter = 0;
};

const char* kHash = "$argon2id$v=19$m=16384,t=3,p=1$KPp0qP74xOx/MV3f6tQNPw$BFbPvsHhaEZECTbO+UB4ptytLCejhsZf2dsKLE1Rgd8";

std::string valid_config() {
  return std::string(R"(listen: { smpp: "127.0.0.1:0", stats: "127.0.0.1:0" }
state: memory
upstreams:
  stc: { host: 127.0.0.1, port: 2776, system_id: hajib, password: pw }
routes:
  prefixes: { "96650": stc }
accounts:
  acme: { password_hash: ")") + kHash + R"(", allow_ips: [ "127.0.0.1/32" ], entity: private, senders: { ACME: service } }
)";
}

std::vector<proxy::ConfigError> errors_of(const std::string& yaml) {
  TempConfig t(yaml);
  std::vector<proxy::ConfigError> errors;
  auto config = proxy::load_config(t.path(), errors);
  CHECK_FALSE(config.has_value());
  return errors;
}

}  // namespace

TEST_CASE("the shipped example configuration loads") {
  std::vector<proxy::ConfigError> errors;
  auto config = proxy::load_config(HAJIB_SOURCE_DIR "/etc/hajib.yaml", errors);
  for (const auto& e : errors) INFO(e.to_string());
  REQUIRE(config);
  CHECK(config->upstreams.size() == 3);
  CHECK(config->account("acme") != nullptr);  // from policy.d/, through include
}

TEST_CASE("a valid minimal configuration loads with defaults") {
  TempConfig t(valid_config());
  std::vector<proxy::ConfigError> errors;
  auto config = proxy::load_config(t.path(), errors);
  REQUIRE(config);
  CHECK(config->memory_state());
  CHECK(config->limits.customer_window == 100);
  CHECK(config->account("acme")->max_binds == 1);
}

TEST_CASE("a YAML syntax error is reported at its line and column") {
  auto errors = errors_of("listen: { smpp: \"127.0.0.1:0\"\nstate: memory\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].line == 2);
}

TEST_CASE("a misspelt key is an error at the key, not a silent default") {
  std::string yaml = valid_config();
  yaml.replace(yaml.find("password: pw"), 12, "pasword: pw");
  auto errors = errors_of(yaml);
  REQUIRE(errors.size() == 2);  // the unknown key, and the missing password
  CHECK(errors[0].to_string().find(":4:") != std::string::npos);
  CHECK(errors[0].message == "unknown key 'pasword' in upstream stc");
}

TEST_CASE("every error is reported at once") {
  std::string yaml = valid_config();
  yaml.replace(yaml.find("port: 2776"), 10, "port: 99999");
  yaml.replace(yaml.find("127.0.0.1/32"), 12, "127.0.0.1/33");
  yaml.replace(yaml.find("\"96650\": stc"), 12, "\"96650\": stx");
  auto errors = errors_of(yaml);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].line == 4);
  CHECK(errors[1].line == 6);
  CHECK(errors[2].line == 8);
}

TEST_CASE("a plain password where a hash belongs is refused") {
  std::string yaml = valid_config();
  yaml.replace(yaml.find(kHash), std::string(kHash).size(), "secret");
  auto errors = errors_of(yaml);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].message.find("never a plain password") != std::string::npos);
}

TEST_CASE("a missing file is reported without a position") {
  std::vector<proxy::ConfigError> errors;
  CHECK_FALSE(proxy::load_config("/nonexistent/hajib.yaml", errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].to_string() == "/nonexistent/hajib.yaml: cannot read the file");
}

TEST_CASE("the limits against hostile peers load, with their defaults and their bounds") {
  {
    TempConfig t(valid_config());
    std::vector<proxy::ConfigError> errors;
    auto config = proxy::load_config(t.path(), errors);
    REQUIRE(config);
    CHECK(config->limits.output_buffer_max_bytes == 256 << 10);
    CHECK(config->limits.connections_per_address_max == 100);
    CHECK(config->limits.stats_request_timeout_ms == 5000);
  }
  std::string yaml = valid_config() +
                     "limits: { output_buffer_max_bytes: 65536, output_drain_timeout_ms: 2000, connections_max: 10, "
                     "connections_per_address_max: 3, stats_connections_max: 4, stats_connections_per_address_max: 2, "
                     "stats_request_timeout_ms: 1000 }\n";
  TempConfig t(yaml);
  std::vector<proxy::ConfigError> errors;
  auto config = proxy::load_config(t.path(), errors);
  REQUIRE(config);
  const proxy::Limits& l = config->limits;
  CHECK(l.output_buffer_max_bytes == 65536);
  CHECK(l.output_drain_timeout_ms == 2000);
  CHECK(l.connections_max == 10);
  CHECK(l.connections_per_address_max == 3);
  CHECK(l.stats_connections_max == 4);
  CHECK(l.stats_connections_per_address_max == 2);
  CHECK(l.stats_request_timeout_ms == 1000);
  auto too_small = errors_of(valid_config() + "limits: { output_buffer_max_bytes: 100 }\n");
  REQUIRE(too_small.size() == 1);
  CHECK(too_small[0].message.find("output_buffer_max_bytes") != std::string::npos);
}

TEST_CASE("a Redis port outside 1..65535 is an error, not a port that wraps") {
  std::string yaml = valid_config();
  yaml.replace(yaml.find("state: memory"), 13, "state: { redis: \"redis://127.0.0.1:99999/0\" }");
  auto errors = errors_of(yaml);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].message.find("between 1 and 65535") != std::string::npos);
}

TEST_CASE("a port with letters after its digits is an error at file:line:column, not the digits it starts with") {
  for (const char* listen : {"\":2775abc\"", "\"127.0.0.1:2775abc\"", "\"127.0.0.1:\"", "\"127.0.0.1:+2775\"",
                             "\"127.0.0.1:65536\"", "\"127.0.0.1: 2775\""}) {
    std::string yaml = valid_config();
    yaml.replace(yaml.find("\"127.0.0.1:0\""), 13, listen);
    INFO(listen);
    auto errors = errors_of(yaml);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].line == 1);
    CHECK(errors[0].column > 1);
    CHECK(errors[0].message == "listen.smpp must be host:port with a port from 0 to 65535");
  }
}

TEST_CASE("an upstream or Redis port with letters after its digits is an error") {
  std::string upstream = valid_config();
  upstream.replace(upstream.find("port: 2776"), 10, "port: 2775abc");
  auto errors = errors_of(upstream);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].line == 4);
  std::string redis = valid_config();
  redis.replace(redis.find("state: memory"), 13, "state: { redis: \"redis://127.0.0.1:6379abc/0\" }");
  errors = errors_of(redis);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].line == 2);
}

TEST_CASE("receipt buckets and the receipt map's limits load with their defaults and bounds") {
  std::vector<proxy::ConfigError> errors;
  TempConfig plain(valid_config());
  auto config = proxy::load_config(plain.path(), errors);
  REQUIRE(config);
  CHECK(config->receipt_buckets == 4096);
  CHECK(config->limits.receipt_map_local_max == 1500000);
  CHECK(config->limits.receipt_map_hold_s == 10);
  CHECK(config->limits.unknown_receipt_retry_s == 600);
  std::string yaml = valid_config();
  yaml.replace(yaml.find("state: memory"), 13, "state: { redis: \"redis://127.0.0.1:6379/0\", receipt_buckets: 0 }\nlimits: { receipt_map_local_max: 10 }");
  CHECK(errors_of(yaml).size() == 2);
}

namespace {
struct LimitKey {
  const char* name;
  long default_value, min, max;
  const char* help;
};
constexpr LimitKey kLimitKeys[] = {
#define X(name, type, default_value, min, max, help) {#name, long(default_value), long(min), long(max), help},
#include "proxy/config/limits.def"
#undef X
};
}  // namespace

TEST_CASE("every key of limits.def has its default within its range, and the example config documents it") {
  std::ifstream in(HAJIB_SOURCE_DIR "/etc/hajib.yaml");
  std::stringstream text;
  text << in.rdbuf();
  const std::string example = text.str();
  const std::string limits = example.substr(example.find("\nlimits:"));
  for (const auto& k : kLimitKeys) {
    INFO(k.name);
    CHECK(k.min <= k.default_value);
    CHECK(k.default_value <= k.max);
    CHECK(limits.find(std::string("\n  ") + k.name + ":") != std::string::npos);
  }
}

TEST_CASE("a limit outside its range is an error naming the range") {
  std::string yaml = valid_config() + "limits: { customer_window: 0 }\n";
  auto errors = errors_of(yaml);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].message == "customer_window must be between 1 and 100000");
}

namespace {
std::string config_key_path(const proxy::ConfigKey& k) {
  std::string section = proxy::section_name(k.section);
  return section.empty() ? k.key : section + "." + k.key;
}
std::optional<proxy::Config> load_ok(const std::string& yaml) {
  TempConfig t(yaml);
  std::vector<proxy::ConfigError> errors;
  auto config = proxy::load_config(t.path(), errors);
  for (const auto& e : errors) INFO(e.to_string());
  REQUIRE(config);
  return config;
}
}  // namespace

TEST_CASE("docs/config.md has a row for every key of keys.def and limits.def, with its reload-or-restart, type and default as the tables say") {
  std::ifstream in(HAJIB_SOURCE_DIR "/docs/config.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  size_t rows = 0;
  for (const auto& k : proxy::kConfigKeys) {
    std::string row = "| `" + config_key_path(k) + "` | " + (k.applies == proxy::Applies::reload ? "reload" : "restart") + " | " +
                      k.type + " | " + k.default_value + " | " + k.help + " |";
    INFO(row);
    CHECK(doc.find(row) != std::string::npos);
    ++rows;
  }
  for (const auto& k : kLimitKeys) {
    std::string row = std::string("| `limits.") + k.name + "` | restart | whole number | " + std::to_string(k.default_value) + " | " +
                      std::to_string(k.min) + " to " + std::to_string(k.max) + ": " + k.help + " |";
    INFO(row);
    CHECK(doc.find(row) != std::string::npos);
    ++rows;
  }
  // And nothing documented that the loader does not read. (scripts/config-doc.py rewrites the table.)
  size_t documented = 0;
  for (size_t at = doc.find("\n| `"); at != std::string::npos; at = doc.find("\n| `", at + 1)) ++documented;
  CHECK(documented == rows);
}

TEST_CASE("a key a section does not take is an error, in every section the table lists") {
  CHECK(errors_of(valid_config() + "listen_typo: 1\n").at(0).message == "unknown key 'listen_typo' in the configuration");
  std::string yaml = valid_config();
  yaml.replace(yaml.find("system_id: hajib"), 0, "sessions_typo: 2, ");
  CHECK(errors_of(yaml).at(0).message == "unknown key 'sessions_typo' in upstream stc");
  CHECK(errors_of(valid_config() + "log: { levl: debug }\n").at(0).message == "unknown key 'levl' in log");
}

TEST_CASE("a reload reports each changed section that needs a restart, and nothing for reloadable ones") {
  auto running = load_ok(valid_config());
  CHECK(proxy::sections_needing_restart(*running, *load_ok(valid_config())).empty());
  CHECK(proxy::sections_needing_restart(*running, *load_ok(valid_config() + "text: { smsc_default: latin1 }\n")) ==
        std::vector<std::string>{"text"});
  CHECK(proxy::sections_needing_restart(*running, *load_ok(valid_config() + "limits: { customer_window: 7 }\n")) ==
        std::vector<std::string>{"limits"});
  std::string moved = valid_config();
  moved.replace(moved.find("port: 2776"), 10, "port: 2777");
  CHECK(proxy::sections_needing_restart(*running, *load_ok(moved)) == std::vector<std::string>{"upstreams"});
  CHECK(proxy::sections_needing_restart(*running, *load_ok(valid_config() + "log: { level: debug }\n")).empty());
}

TEST_CASE("admin: off without token_file, loopback only by default; the token file's line is the token") {
  TempConfig t(valid_config());
  std::vector<proxy::ConfigError> errors;
  auto off = proxy::load_config(t.path(), errors);
  REQUIRE(off);
  CHECK(off->admin.token.empty());
  const std::string token(40, 'k');
  std::ofstream(t.dir / "admin.token") << token << "\n";
  std::ofstream(t.dir / "hajib.yaml") << valid_config() << "admin: { token_file: admin.token }\n";  // relative to the config
  auto on = proxy::load_config(t.path(), errors);
  for (const auto& e : errors) INFO(e.to_string());
  REQUIRE(on);
  CHECK(on->admin.token == token);
  CHECK(on->admin.allow_ips.size() == 2);
}

TEST_CASE("admin: a token under 32 characters, a missing token file or a bad allow_ips entry is an error at its line") {
  TempConfig t(valid_config());
  std::ofstream(t.dir / "short.token") << std::string(31, 'k') << "\n";
  auto short_token = errors_of(valid_config() + "admin: { token_file: " + (t.dir / "short.token").string() + " }\n");
  REQUIRE(short_token.size() == 1);
  CHECK(short_token[0].message.find("at least 32 characters") != std::string::npos);
  CHECK(short_token[0].line == 9);
  auto missing = errors_of(valid_config() + "admin: { token_file: /nonexistent/admin.token }\n");
  CHECK(missing.at(0).message == "cannot read admin.token_file /nonexistent/admin.token");
  auto bad_range = errors_of(valid_config() + "admin: { allow_ips: [ 10.0.0.0/33 ] }\n");
  CHECK(bad_range.at(0).message == "'10.0.0.0/33' is not an IPv4 or IPv6 address or CIDR range");
  CHECK(errors_of(valid_config() + "admin: { token: x }\n").at(0).message == "unknown key 'token' in admin");
}

TEST_CASE("state: sentinels with a master name, db and credentials load; the sentinel config is not memory state") {
  std::string yaml = valid_config();
  yaml.replace(yaml.find("state: memory"), 13,
               "state: { sentinels: [ \"127.0.0.1:26379\", \"10.0.0.2:26380\" ], master: hajib, db: 2,"
               " username: hajib, password: \"s3cret\", sentinel_password: \"sp\" }");
  TempConfig t(yaml);
  std::vector<proxy::ConfigError> errors;
  auto config = proxy::load_config(t.path(), errors);
  for (const auto& e : errors) INFO(e.to_string());
  REQUIRE(config);
  CHECK_FALSE(config->memory_state());
  REQUIRE(config->redis_sentinels.size() == 2);
  CHECK(config->redis_sentinels[1].host == "10.0.0.2");
  CHECK(config->redis_sentinels[1].port == 26380);
  CHECK(config->redis_master == "hajib");
  CHECK(config->redis_db == 2);
  CHECK(config->redis_username == "hajib");
  CHECK(config->redis_password == "s3cret");
  CHECK(config->redis_sentinel_password == "sp");
  CHECK(config->redis_host.empty());
}

TEST_CASE("state: user and password in the redis URL, percent-escaped, are the credentials") {
  std::string yaml = valid_config();
  yaml.replace(yaml.find("state: memory"), 13, "state: { redis: \"redis://hajib:p%40ss:w@127.0.0.1:6390/1\" }");
  TempConfig t(yaml);
  std::vector<proxy::ConfigError> errors;
  auto config = proxy::load_config(t.path(), errors);
  REQUIRE(config);
  CHECK(config->redis_username == "hajib");
  CHECK(config->redis_password == "p@ss:w");
  CHECK(config->redis_host == "127.0.0.1");
  CHECK(config->redis_port == 6390);
  CHECK(config->redis_db == 1);
  yaml = valid_config();
  yaml.replace(yaml.find("state: memory"), 13, "state: { redis: \"redis://:only-pw@127.0.0.1:6390/0\" }");
  TempConfig t2(yaml);
  config = proxy::load_config(t2.path(), errors);
  REQUIRE(config);
  CHECK(config->redis_username.empty());
  CHECK(config->redis_password == "only-pw");
}

TEST_CASE("state: a half-given or doubled Redis location is an error that says what is missing") {
  struct Case {
    const char* state;
    const char* says;
  };
  for (Case c : {Case{"state: { sentinels: [ \"127.0.0.1:26379\" ] }", "needs master"},
                 Case{"state: { master: hajib, redis: \"redis://127.0.0.1:6379/0\" }", "give state.sentinels too"},
                 Case{"state: { sentinels: [ \"127.0.0.1:26379\" ], master: hajib, redis: \"redis://127.0.0.1:6379/0\" }", "not both"},
                 Case{"state: { sentinels: [], master: hajib }", "list of host:port"},
                 Case{"state: { sentinels: [ \"127.0.0.1\" ], master: hajib }", "host:port"},
                 Case{"state: { username: u, redis: \"redis://127.0.0.1:6379/0\" }", "needs state.password"},
                 Case{"state: { sentinel_password: x, redis: \"redis://127.0.0.1:6379/0\" }", "goes with state.sentinels"},
                 Case{"state: { password: x, redis: \"redis://u:y@127.0.0.1:6379/0\" }", "keep one"},
                 Case{"state: { redis: \"redis://user@127.0.0.1:6379/0\" }", "user:password@"},
                 Case{"state: { redis: \"redis://u:p%4@127.0.0.1:6379/0\" }", "two hex digits"}}) {
    std::string yaml = valid_config();
    yaml.replace(yaml.find("state: memory"), 13, c.state);
    INFO(c.state);
    auto errors = errors_of(yaml);
    REQUIRE(errors.size() >= 1);
    bool said = false;
    for (const auto& e : errors) said = said || e.message.find(c.says) != std::string::npos;
    CHECK(said);
  }
}
