// YAML to Config: schema checks with file:line:column for every error, includes, cross-references.
#include "proxy/config/config.h"

#include "proxy/log.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <fmt/format.h>
#include <set>

#include "policy/msisdn.h"
#include "proxy/customer/passwords.h"

namespace proxy {

std::string Endpoint::to_string() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

const AccountConfig* Config::account(const std::string& system_id) const {
  auto it = accounts.find(system_id);
  return it == accounts.end() ? nullptr : it->second.get();
}

namespace {

// A listen port of 0 lets the kernel choose (the tests listen so and read the port back).
constexpr long kAnyPort = 0;

// 1 to 5 digits and nothing else, at most 65535.
std::optional<long> port_number(const std::string& text) {
  if (text.empty() || text.size() > 5 || !std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return std::nullopt;
  long port = std::stol(text);
  return port <= 65535 ? std::optional<long>(port) : std::nullopt;
}

bool is_key_of(ConfigSection section, std::string_view key) {
  for (const ConfigKey& k : kConfigKeys)
    if (k.section == section && key == k.key) return true;
  return false;
}

// Collects errors against one file, with positions taken from the YAML nodes.
class Reader {
 public:
  Reader(std::string file, std::vector<ConfigError>& errors) : file_(std::move(file)), errors_(errors) {}

  void error(const YAML::Node& at, const std::string& message) {
    YAML::Mark m = at.Mark();
    errors_.push_back({file_, m.line + 1, m.column + 1, message});
  }

  bool is_map(const YAML::Node& n, const std::string& what) {
    if (n.IsMap()) return true;
    error(n, what + " must be a mapping");
    return false;
  }

  // Unknown keys are errors: a typo must not silently fall back to a default.
  void only_keys(const YAML::Node& map, ConfigSection section, const std::string& where) {
    for (const auto& kv : map) {
      std::string key = kv.first.as<std::string>("");
      if (!is_key_of(section, key)) error(kv.first, fmt::format("unknown key '{}' in {}", key, where));
    }
  }
  void only_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed, const std::string& where) {
    for (const auto& kv : map) {
      std::string key = kv.first.as<std::string>("");
      if (std::none_of(allowed.begin(), allowed.end(), [&](std::string_view a) { return key == a; }))
        error(kv.first, fmt::format("unknown key '{}' in {}", key, where));
    }
  }

  std::string str(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) {
      error(n, what + " must be a string");
      return {};
    }
    return n.Scalar();
  }

  template <typename T>
  void number(const YAML::Node& map, const char* key, T& out, long min, long max) {
    YAML::Node n = map[key];
    if (!n) return;
    long v;
    if (!n.IsScalar() || !YAML::convert<long>::decode(n, v)) {
      error(n, fmt::format("{} must be a whole number", key));
      return;
    }
    if (v < min || v > max) {
      error(n, fmt::format("{} must be between {} and {}", key, min, max));
      return;
    }
    out = T(v);
  }

  // host:port or [v6]:port. The port is digits only: stol would read ":2775abc" as 2775.
  std::optional<Endpoint> endpoint(const YAML::Node& n, const std::string& what, long min_port) {
    std::string text = str(n, what);
    size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
      error(n, what + " must be host:port");
      return std::nullopt;
    }
    Endpoint e;
    e.host = text.substr(0, colon);
    if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']') e.host = e.host.substr(1, e.host.size() - 2);
    std::optional<long> port = port_number(text.substr(colon + 1));
    if (!port || *port < min_port || e.host.empty()) {
      error(n, fmt::format("{} must be host:port with a port from {} to 65535", what, min_port));
      return std::nullopt;
    }
    e.port = uint16_t(*port);
    return e;
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<ConfigError>& errors_;
};

void read_limits(Reader& r, const YAML::Node& n, Limits& l) {
  if (!r.is_map(n, "limits")) return;
  r.only_keys(n,
              {
#define X(name, type, default_value, min, max, help) #name,
#include "proxy/config/limits.def"
#undef X
                  "bind_failures"},
              "limits");
#define X(name, type, default_value, min, max, help) r.number(n, #name, l.name, min, max);
#include "proxy/config/limits.def"
#undef X
  if (YAML::Node b = n["bind_failures"]) {
    if (!r.is_map(b, "limits.bind_failures")) return;
    r.only_keys(b, ConfigSection::bind_failures, "limits.bind_failures");
    r.number(b, "max", l.bind_failures_max, 1, 1000000);
    l.bind_failures_account_max = l.bind_failures_max;
    r.number(b, "account_max", l.bind_failures_account_max, 1, 1000000);
    r.number(b, "window_s", l.bind_failures_window_s, 1, 86400);
    r.number(b, "block_s", l.bind_failures_block_s, 0, 86400);
  }
}

// %XX escapes in a URL's user and password (a password may hold ':', '@' or '/').
std::optional<std::string> percent_decoded(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(text[i + 2])))
      return std::nullopt;
    out.push_back(char(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

// username and password, for the data nodes; sentinel_password for the sentinels.
void read_state_credentials(Reader& r, const YAML::Node& n, Config& c) {
  if (n["username"]) c.redis_username = r.str(n["username"], "state.username");
  if (n["password"]) c.redis_password = r.str(n["password"], "state.password");
  if (n["sentinel_password"]) c.redis_sentinel_password = r.str(n["sentinel_password"], "state.sentinel_password");
  if (n["username"] && !n["password"]) r.error(n["username"], "state.username needs state.password");
  if (n["sentinel_password"] && !n["sentinels"]) r.error(n["sentinel_password"], "state.sentinel_password goes with state.sentinels");
}

void read_sentinels(Reader& r, const YAML::Node& n, const YAML::Node& list, Config& c) {
  if (!list.IsSequence() || list.size() == 0) return r.error(list, "state.sentinels must be a list of host:port");
  for (const auto& item : list)
    if (auto e = r.endpoint(item, "state.sentinels", 1)) c.redis_sentinels.push_back(*e);
  if (!n["master"]) return r.error(n, "state.sentinels needs master: the name the sentinels monitor");
  c.redis_master = r.str(n["master"], "state.master");
  if (c.redis_master.empty() || c.redis_master.find_first_of(" \t\r\n") != std::string::npos)
    r.error(n["master"], "state.master must be a name without spaces");
  r.number(n, "db", c.redis_db, 0, 15);
}

// redis://[user:password@]host:port/db
void read_redis_url(Reader& r, const YAML::Node& url, Config& c) {
  std::string text = r.str(url, "state.redis");
  const std::string scheme = "redis://";
  if (!text.starts_with(scheme)) return r.error(url, "state.redis must start with redis://");
  std::string rest = text.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos && slash + 1 < rest.size()) {
    try {
      c.redis_db = std::stoi(rest.substr(slash + 1));
    } catch (...) {
      return r.error(url, "state.redis database must be a number");
    }
  }
  if (size_t at = hostport.rfind('@'); at != std::string::npos) {
    std::string userinfo = hostport.substr(0, at);
    hostport = hostport.substr(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == std::string::npos) return r.error(url, "state.redis: write user:password@ or :password@ before the host");
    auto user = percent_decoded(std::string_view(userinfo).substr(0, colon));
    auto password = percent_decoded(std::string_view(userinfo).substr(colon + 1));
    if (!user || !password) return r.error(url, "state.redis: a % in the user or password must be followed by two hex digits");
    if (!c.redis_password.empty()) return r.error(url, "state.redis carries a password and state.password gives one too: keep one");
    if (password->empty()) return r.error(url, "state.redis: the password before @ is empty");
    c.redis_username = *user;
    c.redis_password = *password;
  }
  size_t colon = hostport.rfind(':');
  c.redis_host = colon == std::string::npos ? hostport : hostport.substr(0, colon);
  if (colon != std::string::npos) {
    std::optional<long> port = port_number(hostport.substr(colon + 1));
    if (!port || *port < 1) return r.error(url, "state.redis port must be a number between 1 and 65535");
    c.redis_port = uint16_t(*port);
  }
  if (c.redis_host.empty()) r.error(url, "state.redis needs a host");
}

void read_state(Reader& r, const YAML::Node& n, Config& c) {
  if (n.IsScalar() && n.Scalar() == "memory") return;
  if (!r.is_map(n, "state (or: state: memory)")) return;
  r.only_keys(n, ConfigSection::state, "state");
  r.number(n, "timeout_ms", c.state_timeout_ms, 10, 60000);
  r.number(n, "receipt_buckets", c.receipt_buckets, 1, 1 << 24);
  if (YAML::Node key = n["number_key"]) {
    std::string hex = r.str(key, "state.number_key");
    std::string bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      int hi = std::isxdigit(static_cast<unsigned char>(hex[i])) ? std::stoi(hex.substr(i, 1), nullptr, 16) : -1;
      int lo = std::isxdigit(static_cast<unsigned char>(hex[i + 1])) ? std::stoi(hex.substr(i + 1, 1), nullptr, 16) : -1;
      if (hi < 0 || lo < 0) break;
      bytes.push_back(char(hi * 16 + lo));
    }
    if (hex.size() != 64 || bytes.size() != 32) r.error(key, "state.number_key must be 64 hex digits (32 random bytes)");
    else c.number_key = bytes;
  }
  read_state_credentials(r, n, c);
  YAML::Node url = n["redis"], sentinels = n["sentinels"];
  if (url && sentinels) return r.error(sentinels, "state takes redis or sentinels, not both");
  if (sentinels) return read_sentinels(r, n, sentinels, c);
  if (n["master"]) return r.error(n["master"], "state.master names the master of sentinels: give state.sentinels too");
  if (n["db"]) return r.error(n["db"], "state.db goes with sentinels; a redis URL ends with its own /db");
  if (!url) return r.error(n, "state needs redis: \"redis://host:port/db\" or sentinels and master (or write state: memory)");
  read_redis_url(r, url, c);
}
void read_upstream(Reader& r, const std::string& name, const YAML::Node& n, Config& c) {
  if (!r.is_map(n, "upstream " + name)) return;
  r.only_keys(n, ConfigSection::upstream, "upstream " + name);
  UpstreamConfig u;
  u.name = name;
  for (const char* key : {"host", "port", "system_id", "password"})
    if (!n[key]) r.error(n, fmt::format("upstream {} needs {}", name, key));
  if (n["host"]) u.address.host = r.str(n["host"], "host");
  long port = 0;
  r.number(n, "port", port, 1, 65535);
  u.address.port = uint16_t(port);
  if (n["system_id"]) u.system_id = r.str(n["system_id"], "system_id");
  if (n["password"]) u.password = r.str(n["password"], "password");
  if (n["system_type"]) u.system_type = r.str(n["system_type"], "system_type");
  if (u.system_id.size() > 15) r.error(n["system_id"], "system_id is at most 15 characters (SMPP 3.4)");
  if (u.password.size() > 8) r.error(n["password"], "password is at most 8 characters (SMPP 3.4)");
  r.number(n, "sessions", u.sessions, 1, 64);
  r.number(n, "window", u.window, 1, 100000);
  r.number(n, "reconnect_min_ms", u.reconnect_min_ms, 10, 600000);
  r.number(n, "reconnect_max_ms", u.reconnect_max_ms, 10, 600000);
  if (YAML::Node ids = n["message_id"]) {
    if (r.is_map(ids, "message_id")) {
      r.only_keys(ids, ConfigSection::message_id, "message_id");
      for (auto [key, out] : {std::pair{"submit", &u.submit_id_format}, std::pair{"receipt", &u.receipt_id_format}}) {
        if (!ids[key]) continue;
        auto f = parse_id_format(r.str(ids[key], key));
        if (!f) r.error(ids[key], fmt::format("message_id.{} must be text, hex or decimal", key));
        else *out = *f;
      }
    }
  }
  c.upstreams.push_back(std::move(u));
}

// tls_client: { required: true, fingerprint_sha256: "AB:CD:..." or a list (several while a
// certificate is being replaced) }. Without fingerprints the certificate must verify against tls.client_ca.
void read_tls_client(Reader& r, const std::string& name, const YAML::Node& n, AccountConfig& a, const Config& c) {
  if (!r.is_map(n, "tls_client")) return;
  r.only_keys(n, ConfigSection::tls_client, "tls_client of account " + name);
  if (YAML::Node required = n["required"]) {
    bool value = false;
    if (!required.IsScalar() || !YAML::convert<bool>::decode(required, value)) r.error(required, "tls_client.required must be true or false");
    a.tls_client_required = value;
  }
  if (YAML::Node prints = n["fingerprint_sha256"]) {
    std::vector<YAML::Node> entries;
    if (prints.IsSequence()) {
      for (const auto& entry : prints) entries.push_back(entry);
    } else {
      entries.push_back(prints);
    }
    for (const auto& entry : entries) {
      std::string normal = normalize_fingerprint(r.str(entry, "tls_client.fingerprint_sha256"));
      if (normal.empty()) r.error(entry, "tls_client.fingerprint_sha256 must be 64 hex digits (openssl x509 -noout -fingerprint -sha256 -in cert.pem)");
      else a.tls_client_fingerprints.push_back(normal);
    }
  }
  if (!a.tls_client_required) {
    if (!a.tls_client_fingerprints.empty()) r.error(n, fmt::format("account {}: tls_client.fingerprint_sha256 is checked only with required: true", name));
    return;
  }
  if (!c.smpps_listen) r.error(n, fmt::format("account {} requires TLS (tls_client) but listen.smpps is not set", name));
  else if (a.tls_client_fingerprints.empty() && c.tls && c.tls->files().client_ca.empty())
    r.error(n, fmt::format("account {}: tls_client needs fingerprint_sha256, or tls.client_ca to check certificates against", name));
}

// billing: independent | dependent | { class: percent, ... } (a class the map does not name is paid in full).
void read_account_billing(Reader& r, const YAML::Node& n, AccountConfig& a) {
  if (n.IsScalar() && (n.Scalar() == "independent" || n.Scalar() == "dependent")) {
    a.billing_kind = n.Scalar();
    a.billing = a.billing_kind == "independent" ? independent_shares() : dependent_shares();
    return;
  }
  if (!n.IsMap()) return r.error(n, "billing must be independent, dependent or a map of class: percent");
  a.billing_kind = "custom";
  a.billing = independent_shares();
  for (const auto& kv : n) {
    std::string cls = kv.first.as<std::string>("");
    auto known = std::find(policy::kClassNames.begin(), policy::kClassNames.end(), cls);
    if (known == policy::kClassNames.end()) {
      r.error(kv.first, fmt::format("billing: '{}' is not a message class (promotional, service, awareness, warning, personal)", cls));
      continue;
    }
    long percent = -1;
    if (!kv.second.IsScalar() || !YAML::convert<long>::decode(kv.second, percent) || percent < 0 || percent > 100)
      r.error(kv.second, fmt::format("billing.{} must be a whole percent from 0 to 100", cls));
    else a.billing[size_t(known - policy::kClassNames.begin())] = int(percent);
  }
}

// volume: { daily_max, surge_factor, window_min, on_surge }, each optional.
void read_volume(Reader& r, const std::string& name, const YAML::Node& n, AccountConfig& a) {
  if (!r.is_map(n, "volume")) return;
  r.only_keys(n, ConfigSection::volume, "volume of account " + name);
  r.number(n, "daily_max", a.volume.daily_max, 1, 1000000000);
  r.number(n, "window_min", a.volume.window_min, 1, 60);
  if (YAML::Node f = n["surge_factor"]) {
    double factor = 0;
    if (!f.IsScalar() || !YAML::convert<double>::decode(f, factor) || !(factor >= 1 && factor <= 1000))
      r.error(f, "volume.surge_factor must be a number from 1 to 1000");
    else a.volume.surge_factor = factor;
  }
  if (YAML::Node on = n["on_surge"]) {
    std::string what = r.str(on, "volume.on_surge");
    if (what == "alert") a.volume.on_surge = OnSurge::alert;
    else if (what == "hold") a.volume.on_surge = OnSurge::hold;
    else r.error(on, "volume.on_surge must be alert or hold");
  }
}

void read_billing(Reader& r, const YAML::Node& n, Config& c) {
  if (!r.is_map(n, "billing")) return;
  r.only_keys(n, ConfigSection::billing, "billing");
  if (!n["price_per_part"] || !n["currency"]) return r.error(n, "billing needs price_per_part and currency");
  auto price = parse_price(r.str(n["price_per_part"], "billing.price_per_part"));
  if (!price) r.error(n["price_per_part"], fmt::format("billing.price_per_part must be a decimal with at most {} decimals, like 0.05", kPriceDecimals));
  else c.billing.price_per_part = *price;
  c.billing.currency = r.str(n["currency"], "billing.currency");
  if (c.billing.currency.empty()) r.error(n["currency"], "billing.currency must not be empty");
}

void read_account(Reader& r, const std::string& name, const YAML::Node& n, Config& c, policy::Compiler& compiler) {
  if (!r.is_map(n, "account " + name)) return;
  // Bind settings are read here; the policy's keys by the policy compiler; anything else is a typo.
  for (const auto& kv : n) {
    std::string key = kv.first.as<std::string>("");
    if (!is_key_of(ConfigSection::account, key) && !policy::Compiler::is_account_key(key)) r.error(kv.first, fmt::format("unknown key '{}' in account {}", key, name));
  }
  compiler.add_account(name, n, r.file());
  if (c.accounts.count(name)) return r.error(n, fmt::format("account {} is defined twice", name));
  if (name.size() > 15) r.error(n, fmt::format("account {}: system_id is at most 15 characters (SMPP 3.4)", name));
  AccountConfig a;
  a.name = name;
  if (!n["password_hash"]) r.error(n, fmt::format("account {} needs password_hash (make one with `hajib passwd`)", name));
  else {
    a.password_hash = r.str(n["password_hash"], "password_hash");
    if (!looks_like_password_hash(a.password_hash))
      r.error(n["password_hash"], "password_hash must be an Argon2 hash from `hajib passwd`, never a plain password");
  }
  if (YAML::Node ips = n["allow_ips"]) {
    if (!ips.IsSequence()) r.error(ips, "allow_ips must be a list of CIDR ranges");
    else
      for (const auto& ip : ips) {
        auto cidr = Cidr::parse(r.str(ip, "allow_ips entry"));
        if (!cidr) r.error(ip, fmt::format("'{}' is not an IPv4 or IPv6 address or CIDR range", ip.Scalar()));
        else a.allow_ips.push_back(*cidr);
      }
  } else {
    r.error(n, fmt::format("account {} needs allow_ips (the addresses it may bind from)", name));
  }
  r.number(n, "max_binds", a.max_binds, 1, 100000);
  r.number(n, "window", a.window, 1, 100000);
  if (YAML::Node tls_client = n["tls_client"]) read_tls_client(r, name, tls_client, a, c);
  if (YAML::Node billing = n["billing"]) read_account_billing(r, billing, a);
  if (YAML::Node volume = n["volume"]) read_volume(r, name, volume, a);
  if (YAML::Node mos = n["mo_numbers"]) {
    if (!mos.IsSequence()) r.error(mos, "mo_numbers must be a list");
    else
      for (const auto& mo : mos) {
        std::string number = r.str(mo, "mo_numbers entry");
        std::string key = policy::normalize_msisdn(number).value_or(number);
        auto [it, fresh] = c.mo_owner.emplace(key, name);
        if (!fresh) r.error(mo, fmt::format("MO number {} already belongs to account {}", number, it->second));
        a.mo_numbers.push_back(key);
      }
  }
  c.accounts.emplace(name, std::make_shared<const AccountConfig>(std::move(a)));
}

void read_accounts(Reader& r, const YAML::Node& n, Config& c, policy::Compiler& compiler) {
  if (!r.is_map(n, "accounts")) return;
  for (const auto& kv : n) read_account(r, kv.first.as<std::string>(""), kv.second, c, compiler);
}

// The token is a secret the admin API compares requests against: it lives in its own file (mode
// 0600, outside the config that ops pass around), one line, long enough not to be guessed.
constexpr size_t kAdminTokenMin = 32;

std::vector<Cidr> loopback_only() { return {*Cidr::parse("127.0.0.1/32"), *Cidr::parse("::1/128")}; }

// A relative path is relative to the file that names it, as /etc/hajib/tls/cert.pem beside hajib.yaml.
std::string path_beside(Reader& r, const YAML::Node& n, const std::string& what) {
  namespace fs = std::filesystem;
  fs::path path = r.str(n, what);
  if (path.is_relative()) path = fs::path(r.file()).parent_path() / path;
  return path.string();
}

// The files are read and checked here, so that `hajib check` and a reload refuse a missing
// file or a key that is not the certificate's; the context built is what new connections use.
void read_tls(Reader& r, const YAML::Node& n, Config& c) {
  if (!r.is_map(n, "tls")) return;
  r.only_keys(n, ConfigSection::tls, "tls");
  TlsFiles files;
  for (auto [key, out] : {std::pair{"certificate", &files.certificate}, std::pair{"key", &files.key}, std::pair{"client_ca", &files.client_ca}}) {
    if (n[key]) *out = path_beside(r, n[key], std::string("tls.") + key);
    else if (std::string_view(key) != "client_ca") r.error(n, fmt::format("tls needs {}", key));
  }
  if (files.certificate.empty() || files.key.empty()) return;
  std::string error;
  c.tls = TlsServerContext::load(files, error);
  if (!c.tls) r.error(n, error);
}

std::vector<Cidr> read_cidrs(Reader& r, const YAML::Node& n, std::string_view what) {
  std::vector<Cidr> out;
  if (!n.IsSequence()) {
    r.error(n, fmt::format("{} must be a list of CIDR ranges", what));
    return out;
  }
  for (const auto& ip : n) {
    auto cidr = Cidr::parse(r.str(ip, fmt::format("{} entry", what)));
    if (!cidr) r.error(ip, fmt::format("'{}' is not an IPv4 or IPv6 address or CIDR range", ip.Scalar()));
    else out.push_back(*cidr);
  }
  return out;
}

void read_admin(Reader& r, const YAML::Node& n, Config& c) {
  c.admin.allow_ips = loopback_only();
  if (!n) return;
  if (!r.is_map(n, "admin")) return;
  r.only_keys(n, ConfigSection::admin, "admin");
  if (YAML::Node ips = n["allow_ips"]) {
    if (!ips.IsSequence()) r.error(ips, "admin.allow_ips must be a list of CIDR ranges");
    else {
      c.admin.allow_ips.clear();
      for (const auto& ip : ips) {
        auto cidr = Cidr::parse(r.str(ip, "admin.allow_ips entry"));
        if (!cidr) r.error(ip, fmt::format("'{}' is not an IPv4 or IPv6 address or CIDR range", ip.Scalar()));
        else c.admin.allow_ips.push_back(*cidr);
      }
    }
  }
  YAML::Node file = n["token_file"];
  if (!file) return;
  namespace fs = std::filesystem;
  fs::path path = r.str(file, "admin.token_file");
  if (path.is_relative()) path = fs::path(r.file()).parent_path() / path;
  c.admin.token_file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return r.error(file, fmt::format("cannot read admin.token_file {}", path.string()));
  std::string token;
  std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.size() < kAdminTokenMin)
    return r.error(file, fmt::format("the admin token in {} must be at least {} characters (make one: head -c32 /dev/urandom | base64)",
                                     path.string(), kAdminTokenMin));
  c.admin.token = token;
}

std::optional<YAML::Node> parse_file(const std::string& path, std::vector<ConfigError>& errors,
                                     policy::Compiler* compiler = nullptr) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors.push_back({path, 0, 0, "cannot read the file"});
    return std::nullopt;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (compiler) compiler->add_source(text);
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    errors.push_back({path, e.mark.line + 1, e.mark.column + 1, e.msg});
  }
  return std::nullopt;
}

// `include:` entries are folders (every *.yaml inside, in name order) or files; they may hold accounts.
void read_includes(Reader& r, const YAML::Node& n, Config& c, std::vector<ConfigError>& errors, policy::Compiler& compiler) {
  namespace fs = std::filesystem;
  if (!n.IsSequence()) return r.error(n, "include must be a list of folders or files");
  fs::path base = fs::path(r.file()).parent_path();
  for (const auto& entry : n) {
    fs::path p = base / r.str(entry, "include entry");
    std::vector<fs::path> files;
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (const auto& f : fs::directory_iterator(p, ec))
        if (f.path().extension() == ".yaml" || f.path().extension() == ".yml") files.push_back(f.path());
      std::sort(files.begin(), files.end());
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      r.error(entry, fmt::format("include {} does not exist", p.string()));
    }
    for (const auto& f : files) {
      auto doc = parse_file(f.string(), errors, &compiler);
      if (!doc || doc->IsNull()) continue;
      Reader inner(f.string(), errors);
      if (!inner.is_map(*doc, "an included file")) continue;
      inner.only_keys(*doc, {"accounts"}, "an included file");
      if ((*doc)["accounts"]) read_accounts(inner, (*doc)["accounts"], c, compiler);
    }
  }
}

void read_routes(Reader& r, const YAML::Node& n, Config& c) {
  if (!r.is_map(n, "routes")) return;
  r.only_keys(n, ConfigSection::routes, "routes");
  if (YAML::Node prefixes = n["prefixes"]; prefixes && r.is_map(prefixes, "routes.prefixes")) {
    for (const auto& kv : prefixes) {
      std::string prefix = kv.first.as<std::string>(""), upstream = r.str(kv.second, "route target");
      if (!c.routes.add_prefix(prefix, upstream))
        r.error(kv.first, fmt::format("route {} -> {}: the prefix must be digits and the upstream configured", prefix, upstream));
    }
  } else if (!prefixes) {
    r.error(n, "routes needs prefixes");
  }
  if (YAML::Node overrides = n["overrides"]; overrides && r.is_map(overrides, "routes.overrides")) {
    for (const auto& kv : overrides) {
      std::string number = kv.first.as<std::string>(""), upstream = r.str(kv.second, "override target");
      auto normal = policy::normalize_msisdn(number);
      if (!normal) r.error(kv.first, fmt::format("override {}: not a valid Saudi mobile number", number));
      else if (!c.routes.add_override(*normal, upstream))
        r.error(kv.second, fmt::format("override {}: upstream {} is not configured", number, upstream));
    }
  }
}

std::optional<Config> read_config(const std::string& path, std::vector<ConfigError>& errors) {
  size_t errors_before = errors.size();
  policy::Compiler compiler;
  auto doc = parse_file(path, errors, &compiler);
  if (!doc) return std::nullopt;
  Reader r(path, errors);
  Config c;
  c.path = path;
  if (!r.is_map(*doc, "the configuration")) return std::nullopt;
  const YAML::Node& root = *doc;
  r.only_keys(root, ConfigSection::root, "the configuration");
  if (YAML::Node log = root["log"]; log && r.is_map(log, "log")) {
    r.only_keys(log, ConfigSection::log, "log");
    if (YAML::Node level = log["level"]) {
      if (auto parsed = log::parse_level(r.str(level, "log.level"))) c.log_level = *parsed;
      else r.error(level, "log.level must be error, warn, info or debug");
    }
  }
  if (YAML::Node text = root["text"]; text && r.is_map(text, "text")) {
    r.only_keys(text, ConfigSection::text, "text");
    if (YAML::Node d = text["smsc_default"]) {
      std::string v = r.str(d, "text.smsc_default");
      if (v == "gsm7") c.text.smsc_default = smpp::DefaultAlphabet::gsm7;
      else if (v == "ascii") c.text.smsc_default = smpp::DefaultAlphabet::ascii;
      else if (v == "latin1") c.text.smsc_default = smpp::DefaultAlphabet::latin1;
      else r.error(d, "text.smsc_default must be gsm7, ascii or latin1");
    }
    if (YAML::Node p = text["gsm7_packed"]) c.text.gsm7_packed = p.as<bool>(false);
  }
  if (root["policy"]) compiler.add_rules(root["policy"], path);
  if (YAML::Node audit = root["audit"]; audit && r.is_map(audit, "audit")) {
    r.only_keys(audit, ConfigSection::audit, "audit");
    if (audit["file"]) c.audit_file = r.str(audit["file"], "audit.file");
    if (audit["mask_numbers"]) c.audit_mask_numbers = audit["mask_numbers"].as<bool>(true);
    r.number(audit, "visible_digits", c.audit_visible_digits, 0, 4);  // never more than the last 4 (PDPL)
  }

  if (YAML::Node listen = root["listen"]; listen && r.is_map(listen, "listen")) {
    r.only_keys(listen, ConfigSection::listen, "listen");
    if (listen["smpp"]) c.smpp_listen = r.endpoint(listen["smpp"], "listen.smpp", kAnyPort).value_or(Endpoint{});
    else r.error(listen, "listen needs smpp: \"host:port\"");
    if (listen["stats"]) c.stats_listen = r.endpoint(listen["stats"], "listen.stats", kAnyPort).value_or(Endpoint{});
    else r.error(listen, "listen needs stats: \"host:port\"");
    if (listen["smpps"]) c.smpps_listen = r.endpoint(listen["smpps"], "listen.smpps", kAnyPort);
    if (YAML::Node from = listen["proxy_from"]) c.proxy_from = read_cidrs(r, from, "listen.proxy_from");
  } else if (!listen) {
    r.error(root, "the configuration needs listen: { smpp: ..., stats: ... }");
  }
  if (root["tls"]) read_tls(r, root["tls"], c);
  if (c.smpps_listen && !root["tls"]) r.error(root["listen"]["smpps"], "listen.smpps needs tls: { certificate, key }");
  if (!c.smpps_listen && root["tls"]) r.error(root["tls"], "tls is set but listen.smpps is not: nothing would use it");
  read_admin(r, root["admin"], c);
  if (YAML::Node review = root["review"]; review && r.is_map(review, "review")) {
    r.only_keys(review, ConfigSection::review, "review");
    r.number(review, "approval_hours", c.review.approval_hours, 1, 87600);
    r.number(review, "pending_hours", c.review.pending_hours, 1, 8760);
  }
  if (root["billing"]) read_billing(r, root["billing"], c);
  if (root["state"]) read_state(r, root["state"], c);
  else r.error(root, "the configuration needs state: { redis: ... } or state: memory");
  if (root["limits"]) read_limits(r, root["limits"], c.limits);

  if (YAML::Node ups = root["upstreams"]; ups && r.is_map(ups, "upstreams")) {
    for (const auto& kv : ups) read_upstream(r, kv.first.as<std::string>(""), kv.second, c);
    if (c.upstreams.empty()) r.error(ups, "upstreams is empty");
  } else if (!ups) {
    r.error(root, "the configuration needs upstreams");
  }
  std::vector<std::string> names;
  for (const auto& u : c.upstreams) names.push_back(u.name);
  c.routes = policy::RouteTable(names);
  if (root["routes"]) read_routes(r, root["routes"], c);
  else r.error(root, "the configuration needs routes");

  if (root["accounts"]) read_accounts(r, root["accounts"], c, compiler);
  if (root["include"]) read_includes(r, root["include"], c, errors, compiler);
  c.policy = compiler.finish();
  errors.insert(errors.end(), compiler.diagnostics().begin(), compiler.diagnostics().end());
  if (errors.size() != errors_before) return std::nullopt;
  return c;
}

}  // namespace

const char* section_name(ConfigSection s) {
  switch (s) {
    case ConfigSection::root: return "";
    case ConfigSection::listen: return "listen";
    case ConfigSection::state: return "state";
    case ConfigSection::bind_failures: return "limits.bind_failures";
    case ConfigSection::upstream: return "upstreams.NAME";
    case ConfigSection::message_id: return "upstreams.NAME.message_id";
    case ConfigSection::routes: return "routes";
    case ConfigSection::account: return "accounts.NAME";
    case ConfigSection::audit: return "audit";
    case ConfigSection::text: return "text";
    case ConfigSection::log: return "log";
    case ConfigSection::admin: return "admin";
    case ConfigSection::tls: return "tls";
    case ConfigSection::tls_client: return "accounts.NAME.tls_client";
    case ConfigSection::review: return "review";
    case ConfigSection::billing: return "billing";
    case ConfigSection::volume: return "accounts.NAME.volume";
  }
  return "";
}

namespace {
// Whether one top-level section has the same values in both (what a reload would have to change).
bool same_section(const Config& a, const Config& b, std::string_view key) {
  if (key == "listen")
    return a.smpp_listen == b.smpp_listen && a.stats_listen == b.stats_listen && a.smpps_listen == b.smpps_listen &&
           a.proxy_from == b.proxy_from;
  if (key == "state")
    return a.redis_host == b.redis_host && a.redis_port == b.redis_port && a.redis_db == b.redis_db &&
           a.redis_sentinels == b.redis_sentinels && a.redis_master == b.redis_master &&
           a.redis_username == b.redis_username && a.redis_password == b.redis_password &&
           a.redis_sentinel_password == b.redis_sentinel_password &&
           a.number_key == b.number_key && a.state_timeout_ms == b.state_timeout_ms && a.receipt_buckets == b.receipt_buckets;
  if (key == "limits") return a.limits == b.limits;
  if (key == "upstreams") return a.upstreams == b.upstreams;
  if (key == "routes") return a.routes == b.routes;
  if (key == "text") return a.text.smsc_default == b.text.smsc_default && a.text.gsm7_packed == b.text.gsm7_packed;
  return false;  // a restart key without a comparison is reported whenever the file is reloaded
}
}  // namespace

std::vector<std::string> sections_needing_restart(const Config& running, const Config& fresh) {
  std::vector<std::string> changed;
  for (const ConfigKey& k : kConfigKeys)
    if (k.section == ConfigSection::root && k.applies == Applies::restart && !same_section(running, fresh, k.key))
      changed.push_back(k.key);
  return changed;
}

// A file that yaml-cpp or the standard library throws on (an odd node where a checked one was
// expected, a path the file system refuses) is one more refused file, never a dead process: a
// SIGHUP reload runs this inside the live proxy.
std::optional<Config> load_config(const std::string& path, std::vector<ConfigError>& errors) {
  try {
    return read_config(path, errors);
  } catch (const YAML::Exception& e) {
    errors.push_back({path, std::max(e.mark.line + 1, 0), std::max(e.mark.column + 1, 0), e.msg});
  } catch (const std::exception& e) {
    errors.push_back({path, 0, 0, std::string("cannot read the configuration: ") + e.what()});
  }
  return std::nullopt;
}

}  // namespace proxy
