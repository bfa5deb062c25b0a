// The proxy's configuration: loaded from YAML, validated with every error reported at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "policy/routing.h"
#include "proxy/config/billing.h"
#include "policy/table.h"
#include "proxy/config/cidr.h"
#include "proxy/log.h"
#include "proxy/deliver/receipt_id.h"
#include "proxy/net/tls.h"
#include "smpp/text.h"

namespace proxy {

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string to_string() const;
  bool operator==(const Endpoint&) const = default;
};

struct Limits {
#define X(name, type, default_value, min, max, help) type name = default_value;
#include "proxy/config/limits.def"
#undef X
  // limits.bind_failures: { max, account_max, window_s, block_s }
  int bind_failures_max = 5;
  int bind_failures_window_s = 60;
  int bind_failures_block_s = 300;
  int bind_failures_account_max = 5;  // failures against one account, from any address (default: max)
  bool operator==(const Limits&) const = default;
};

struct UpstreamConfig {
  std::string name;
  Endpoint address;
  std::string system_id, password, system_type;
  int sessions = 1;
  int window = 100;
  int reconnect_min_ms = 200;
  int reconnect_max_ms = 10000;
  IdFormat submit_id_format = IdFormat::text;
  IdFormat receipt_id_format = IdFormat::text;
  bool operator==(const UpstreamConfig&) const = default;
};

// accounts.NAME.volume: the watch on an account's volume (docs/policy.md, Volume monitoring); a
// limit at 0 is off.
enum class OnSurge : uint8_t { alert, hold };
struct VolumeConfig {
  int64_t daily_max = 0;
  double surge_factor = 0;
  int window_min = 10;
  OnSurge on_surge = OnSurge::alert;
  bool watched() const { return daily_max > 0 || surge_factor > 0; }
};

struct AccountConfig {
  std::string name;
  std::string password_hash;
  std::vector<Cidr> allow_ips;
  int max_binds = 1;
  int window = 0;  // 0: limits.customer_window
  std::vector<std::string> mo_numbers;
  // tls_client: binds only over TLS with a client certificate; pinned by fingerprint when the
  // list is not empty, else any that verified against tls.client_ca.
  bool tls_client_required = false;
  std::vector<std::string> tls_client_fingerprints;  // normalized "AB:CD:..."
  ClassShares billing = dependent_shares();  // percent of each class the account pays
  std::string billing_kind = "dependent";    // independent, dependent or custom: for the bill's reader
  VolumeConfig volume;
};

// billing: the price of a part, for `hajib usage --bill`.
struct BillingConfig {
  Money price_per_part = 0;
  std::string currency;
  bool configured() const { return !currency.empty(); }
};

// Campaign review (proxy/review/): how long a decision lasts. Which accounts are reviewed is policy
// (an account's review: and bank: keys, policy/table.h).
struct ReviewConfig {
  int approval_hours = 720;  // an approval passes later messages this long; a rejection refuses them as long
  int pending_hours = 72;    // a pending campaign expires then; an expired one refuses this long
  bool operator==(const ReviewConfig&) const = default;
};

// The admin API on the stats port (proxy/admin/): off while token is empty.
struct AdminConfig {
  std::string token_file;
  std::string token;  // the file's one line, read at every (re)load
  std::vector<Cidr> allow_ips;  // default: loopback only
};

struct Config {
  std::string path;
  Endpoint smpp_listen, stats_listen;
  std::optional<Endpoint> smpps_listen;  // the TLS customer port, if any
  // tls: loaded and checked with the files (hajib check fails on a bad one); a reload builds a new one.
  std::shared_ptr<const TlsServerContext> tls;
  std::vector<Cidr> proxy_from;  // balancers that send a PROXY protocol header (and must)
  std::string redis_host;  // empty: in-process state (`state: memory`)
  uint16_t redis_port = 6379;
  int redis_db = 0;
  std::vector<Endpoint> redis_sentinels;  // non-empty: the master is found through them (redis_host stays empty)
  std::string redis_master;               // the name the sentinels monitor
  std::string redis_username, redis_password;  // AUTH on the data nodes; both empty: none
  std::string redis_sentinel_password;    // AUTH on the sentinels; empty: none
  std::string number_key;  // 32 bytes keying number hashes; empty: a built-in key (warned at start-up)
  Limits limits;
  std::vector<UpstreamConfig> upstreams;
  policy::RouteTable routes;
  std::map<std::string, std::shared_ptr<const AccountConfig>> accounts;
  std::shared_ptr<const policy::Table> policy;
  smpp::TextOptions text;        // what data_coding 0 means here, and GSM 7-bit packing
  int state_timeout_ms = 1000;   // a state store slower than this is treated as down
  uint32_t receipt_buckets = 4096;  // Redis hashes receipt mappings are spread over (same on every instance)
  std::string audit_file;        // empty: no audit log
  bool audit_mask_numbers = true;
  log::Level log_level = log::Level::info;  // reloaded on SIGHUP
  int audit_visible_digits = 4;  // trailing digits left visible when masked (the country code 966 stays too)
  std::unordered_map<std::string, std::string> mo_owner;  // number or short code -> account
  AdminConfig admin;
  ReviewConfig review;
  BillingConfig billing;

  bool memory_state() const { return redis_host.empty() && redis_sentinels.empty(); }
  const AccountConfig* account(const std::string& system_id) const;
};

using ConfigError = policy::Diagnostic;  // file:line:column: message

// The keys the loader reads (keys.def): where each lives and whether SIGHUP applies it.
enum class ConfigSection { root, listen, state, bind_failures, upstream, message_id, routes, account, audit, text, log, admin, tls, tls_client, review, billing, volume };
enum class Applies { reload, restart };
struct ConfigKey {
  ConfigSection section;
  const char* key;
  Applies applies;
  const char* type;
  const char* default_value;
  const char* help;
};
inline constexpr ConfigKey kConfigKeys[] = {
#define X(section, key, applies, type, default_value, help) {ConfigSection::section, #key, Applies::applies, type, default_value, help},
#include "proxy/config/keys.def"
#undef X
};
const char* section_name(ConfigSection s);  // "listen", "limits.bind_failures", "upstreams.NAME", ...

// The top-level sections a reload cannot apply whose values differ between two configs.
std::vector<std::string> sections_needing_restart(const Config& running, const Config& fresh);

// Loads and validates `path` and its includes. On any error returns nullopt with all errors.
std::optional<Config> load_config(const std::string& path, std::vector<ConfigError>& errors);

}  // namespace proxy
