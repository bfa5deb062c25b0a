// `hajib ctl`: the admin API's command-line client (sessions, kick, bans, operator links, reload).
#include <curl/curl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>

#include "proxy/ops/commands.h"
#include "proxy/ops/common.h"

namespace proxy {

std::optional<int64_t> parse_duration_s(std::string_view text) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data() || n <= 0) return std::nullopt;
  std::string_view unit(end, size_t(text.data() + text.size() - end));
  int64_t scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : 0;
  if (scale == 0 || n > INT64_C(366) * 86400 / scale) return std::nullopt;
  return n * scale;
}

namespace {

using json = nlohmann::json;

struct Target {
  std::string url;  // http://host:port, no trailing slash
  std::string token;
};

struct Reply {
  long status = 0;   // 0: no answer (error says why)
  std::string body, error;
  json parsed() const { return json::parse(body, nullptr, false); }
};

// Who is acting, as the audit log will say: the person behind sudo if there is one.
std::string actor() {
  const char* who = std::getenv("SUDO_USER");
  if (!who || !*who) who = std::getenv("USER");
  if (!who || !*who) who = "unknown";
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || !*host) std::snprintf(host, sizeof host, "?");
  return fmt::format("{}@{}", who, host);
}

std::optional<std::string> read_token(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string token;
  if (!in || !std::getline(in, token)) return std::nullopt;
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  return token;
}

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

Reply call(const Target& t, const char* method, const std::string& path, const std::string& body = "") {
  Reply reply;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* curl = curl_easy_init();
  if (!curl) return reply.error = "libcurl failed to start", reply;
  std::string url = t.url + path;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Authorization: Bearer " + t.token).c_str());
  headers = curl_slist_append(headers, ("X-Hajib-Actor: " + actor()).c_str());
  if (!body.empty()) headers = curl_slist_append(headers, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  if (std::string_view(method) == "POST") curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_PROXY, "");  // the token never goes through an HTTP proxy from the environment
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) reply.error = fmt::format("cannot reach {}: {}", url, curl_easy_strerror(rc));
  else curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

std::string escaped(const std::string& segment) {
  char* e = curl_easy_escape(nullptr, segment.c_str(), int(segment.size()));
  std::string out = e ? e : segment;
  curl_free(e);
  return out;
}

// The server's reason for a refusal, on stderr: exit 1.
int refused(const Reply& r) {
  if (r.status == 0) return fmt::print(stderr, "hajib ctl: {}\n", r.error), 1;
  json j = r.parsed();
  std::string reason = j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>() : r.body;
  while (!reason.empty() && reason.back() == '\n') reason.pop_back();
  fmt::print(stderr, "hajib ctl: refused ({}): {}\n", r.status, reason);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array())
    for (const auto& e : j["errors"]) fmt::print(stderr, "{}\n", e.is_string() ? e.get<std::string>() : e.dump());
  return 1;
}

bool ok(const Reply& r) { return r.status >= 200 && r.status < 300; }

std::string text(const json& j, const char* key) {
  if (!j.contains(key)) return "";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

int show_sessions(const Reply& r, bool as_json) {
  if (!ok(r)) return refused(r);
  json j = r.parsed();
  if (as_json) return fmt::print("{}\n", j.dump(2)), 0;
  fmt::print("{:<8} {:<16} {:<40} {:<12} {:<21} {}\n", "ID", "ACCOUNT", "PEER", "BIND", "SINCE", "IN_FLIGHT");
  for (const auto& s : j.value("sessions", json::array()))
    fmt::print("{:<8} {:<16} {:<40} {:<12} {:<21} {}\n", text(s, "id"), text(s, "account"), text(s, "peer"), text(s, "bind"),
               text(s, "since"), text(s, "in_flight"));
  return 0;
}

int show_bans(const Reply& r, bool as_json) {
  if (!ok(r)) return refused(r);
  json j = r.parsed();
  if (as_json) return fmt::print("{}\n", j.dump(2)), 0;
  fmt::print("{:<8} {:<40} {:<21} {}\n", "KIND", "WHO", "UNTIL", "SECONDS_LEFT");
  for (const auto& b : j.value("bans", json::array())) {
    const char* kind = b.contains("address") ? "address" : "account";
    fmt::print("{:<8} {:<40} {:<21} {}\n", kind, text(b, kind), text(b, "until"), text(b, "seconds_left"));
  }
  return 0;
}

// Where the admin API is and its token: from --url and --token-file, or from the config's
// listen.stats and admin.token_file.
std::optional<Target> find_target(const std::string& config_path, const std::string& url, const std::string& token_file) {
  Target t;
  if (!url.empty()) {
    t.url = url;
  } else {
    auto config = load_or_report(config_path);
    if (!config) return std::nullopt;
    Endpoint at = config->stats_listen;
    if (at.port == 0) {
      fmt::print(stderr, "hajib ctl: listen.stats in {} has port 0 (any free port): give --url\n", config_path);
      return std::nullopt;
    }
    if (at.host == "0.0.0.0") at.host = "127.0.0.1";  // listening everywhere: ask it on loopback
    if (at.host == "::") at.host = "::1";
    t.url = "http://" + at.to_string();
    if (token_file.empty()) {
      if (config->admin.token.empty()) {
        fmt::print(stderr, "hajib ctl: the admin API is off in {} (no admin.token_file)\n", config_path);
        return std::nullopt;
      }
      t.token = config->admin.token;
    }
  }
  while (!t.url.empty() && t.url.back() == '/') t.url.pop_back();
  if (!token_file.empty()) {
    auto token = read_token(token_file);
    if (!token) {
      fmt::print(stderr, "hajib ctl: cannot read the token file {}\n", token_file);
      return std::nullopt;
    }
    t.token = *token;
  }
  return t;
}

}  // namespace

int run_ctl(const std::vector<std::string>& args) {
  CLI::App app{"hajib ctl: steer a running proxy through its admin API (listen.stats, admin.token_file)", "hajib ctl"};
  std::string config_path, url, token_file;
  auto* config_opt = app.add_option("-c,--config", config_path, "the proxy's config: its stats address and token file");
  auto* url_opt = app.add_option("--url", url, "the stats port, as http://HOST:PORT (instead of --config)");
  app.add_option("--token-file", token_file, "the file holding the admin token (with --url; overrides the config's)");
  url_opt->excludes(config_opt);
  app.require_subcommand(1);

  bool as_json = false;
  auto* sessions = app.add_subcommand("sessions", "list the bound customer sessions");
  sessions->add_flag("--json", as_json, "print the server's JSON");
  uint64_t session_id = 0;
  auto* kick = app.add_subcommand("kick", "unbind (then close) one customer session");
  kick->add_option("ID", session_id, "a session id from `hajib ctl sessions`")->required();
  std::string address, account, duration;
  auto* ban = app.add_subcommand("ban", "refuse binds from an address or for an account for a while; its open sessions are kicked");
  auto* by_address = ban->add_option("--address", address, "an IPv4 or IPv6 address");
  auto* by_account = ban->add_option("--account", account, "an account's system_id");
  by_address->excludes(by_account);
  ban->add_option("--for", duration, "how long: 90s, 15m, 2h, 1d")->required();
  std::string who;
  auto* unban = app.add_subcommand("unban", "lift the ban on an address or an account");
  unban->add_option("WHO", who, "the address or the account")->required();
  auto* bans = app.add_subcommand("bans", "list the bans in force");
  bans->add_flag("--json", as_json, "print the server's JSON");
  std::string action, upstream_name;
  auto* upstream = app.add_subcommand("upstream", "stop, start or drain the links to one operator");
  upstream->add_option("ACTION", action, "stop, start or drain")->required()->check(CLI::IsMember({"stop", "start", "drain"}));
  upstream->add_option("NAME", upstream_name, "the upstream's name in the config")->required();
  auto* reload = app.add_subcommand("reload", "reload the configuration, as SIGHUP does; prints the errors if it has any");

  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
  try {
    app.parse(reversed);
    if (config_path.empty() && url.empty()) throw CLI::RequiredError("--config or --url");
    if (*ban && address.empty() == account.empty()) throw CLI::ValidationError("ban", "give one of --address or --account");
    if (*ban && !parse_duration_s(duration)) throw CLI::ValidationError("--for", "'" + duration + "' is not a duration like 90s, 15m, 2h or 1d");
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto target = find_target(config_path, url, token_file);
  if (!target) return 2;

  if (*sessions) return show_sessions(call(*target, "GET", "/admin/sessions"), as_json);
  if (*bans) return show_bans(call(*target, "GET", "/admin/bans"), as_json);
  Reply r;
  if (*kick) r = call(*target, "POST", fmt::format("/admin/sessions/{}/kick", session_id), "{}");
  if (*ban) {
    json body = {{address.empty() ? "account" : "address", address.empty() ? account : address}, {"seconds", *parse_duration_s(duration)}};
    r = call(*target, "POST", "/admin/bans", body.dump());
  }
  if (*unban) r = call(*target, "DELETE", "/admin/bans/" + escaped(who));
  if (*upstream) r = call(*target, "POST", fmt::format("/admin/upstreams/{}/{}", escaped(upstream_name), action), "{}");
  if (*reload) r = call(*target, "POST", "/admin/reload", "{}");
  if (!ok(r)) return refused(r);
  json j = r.parsed();
  if (*kick) fmt::print("session {}: unbind sent\n", session_id);
  if (*ban)
    fmt::print("banned {} {} until {}; {} open sessions kicked\n", address.empty() ? "account" : "address", text(j, address.empty() ? "account" : "address"),
               text(j, "until"), text(j, "kicked"));
  if (*unban) fmt::print("ban on {} lifted\n", who);
  if (*upstream) fmt::print("upstream {}: {}\n", upstream_name, text(j, "control"));
  if (*reload) fmt::print("reloaded: policy {}\n", text(j, "policy"));
  return 0;
}

}  // namespace proxy
