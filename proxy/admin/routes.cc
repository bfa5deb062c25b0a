// The admin API's routes (proxy/admin/routes.h): each parses what the caller sent, asks one
// stage to act through a small method, answers JSON, and writes the audit line and the log line.
#include "proxy/admin/routes.h"

#include <arpa/inet.h>

#include <charconv>
#include <ctime>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "proxy/admin/access.h"
#include "proxy/hub.h"
#include "proxy/log.h"
#include "proxy/stats/server.h"

namespace proxy {
namespace {

using json = nlohmann::ordered_json;
constexpr int64_t kBanSecondsMax = 366 * 24 * 3600;
constexpr size_t kActorMax = 128;
constexpr size_t kAccountMax = 64;

std::string iso_time(int64_t unix_ms) {
  std::time_t secs = std::time_t(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// Who the caller says they are (hajib ctl sends user@host); the token proves only that they may.
std::string actor_of(const HttpRequest& r) {
  if (r.actor.empty()) return "unknown";
  return r.actor.size() > kActorMax ? r.actor.substr(0, kActorMax) : r.actor;
}

void reply(HttpResponse& response, int status, const json& body) {
  response.status = status;
  response.content_type = "application/json";
  response.body = dump_json(body) + "\n";
}
void refuse(HttpResponse& response, int status, std::string_view error) { reply(response, status, {{"ok", false}, {"error", error}}); }
// What the audit line says of a refusal: the reason the caller was given.
std::string error_of(const HttpResponse& response) {
  json j = json::parse(response.body, nullptr, false);
  return j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>() : "";
}

// Every control action and every refused attempt: one audit line (when, who, from where, what,
// the result) and one log line.
void record(Hub& hub, const HttpRequest& r, std::string_view action, std::string_view target, const HttpResponse& response,
            std::string_view result) {
  std::string actor = actor_of(r);
  hub.audit_event("admin", {{"action", action}, {"target", target}, {"actor", actor}, {"from", r.peer},
                            {"status", response.status}, {"result", result}});
  if (response.status < 300) {
    ++hub.counters().admin_actions;
    log::info("{} from {}: {} {}: {}", json_quoted(actor), r.peer, action, json_quoted(target), result);
  } else {
    log::warn_limited("{} from {}: {} {} refused ({}): {}", json_quoted(actor), r.peer, action, json_quoted(target), response.status, result);
  }
}

// ---- the gate ----

bool gate(Hub& hub, const HttpRequest& r, HttpResponse& response) {
  switch (admin::check_access(hub.config().admin, r.peer, r.authorization)) {
    case admin::Access::allowed: return false;
    case admin::Access::off: return refuse(response, 404, "the admin API is off (admin.token_file is not set)"), true;
    case admin::Access::forbidden:
      ++hub.counters().admin_requests_forbidden;
      refuse(response, 403, fmt::format("{} is not in admin.allow_ips", r.peer));
      break;
    case admin::Access::unauthorized:
      ++hub.counters().admin_requests_unauthorized;
      refuse(response, 401, r.authorization.empty() ? "no token: send Authorization: Bearer TOKEN" : "wrong token");
      response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"hajib admin\"");
      break;
  }
  record(hub, r, "request", fmt::format("{} {}", r.method, r.path), response, error_of(response));
  return true;
}

// ---- sessions ----

void list_sessions(Hub& hub, HttpResponse& response) {
  json sessions = json::array();
  const int64_t wall = hub.wall_ms();
  for (const SessionInfo& s : hub.customers().sessions())
    sessions.push_back({{"id", s.id}, {"account", s.account}, {"peer", s.peer}, {"bind", s.bind},
                        {"since", iso_time(wall - int64_t(s.bound_for_ms))}, {"in_flight", s.in_flight}});
  reply(response, 200, {{"sessions", sessions}});
}

std::optional<uint64_t> whole_number(std::string_view text) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

void kick(Hub& hub, const HttpRequest& r, HttpResponse& response) {
  const std::string& target = r.captures.at(0);
  auto id = whole_number(target);
  if (!id) refuse(response, 400, "a session id is a whole number (GET /admin/sessions lists them)");
  else if (!hub.customers().kick(*id)) refuse(response, 404, fmt::format("no open session {}", target));
  else reply(response, 200, {{"ok", true}, {"session", *id}});
  record(hub, r, "kick", target, response, response.status == 200 ? "unbind sent" : error_of(response));
}

// ---- bans ----

// An address as the customer side keys a peer's (inet_ntop's form, a mapped IPv4 as IPv4), so
// that "::0001" bans "::1" and "::ffff:10.0.0.1" bans "10.0.0.1".
std::optional<std::string> canonical_address(const std::string& text) {
  unsigned char bytes[16];
  char out[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6})
    if (inet_pton(family, text.c_str(), bytes) == 1 && inet_ntop(family, bytes, out, sizeof out)) return address_key(out);
  return std::nullopt;
}

void list_bans(Hub& hub, HttpResponse& response) {
  json bans = json::array();
  const uint64_t now = hub.now_ms();
  for (const Bans::Ban& b : hub.customers().bans()) {
    int64_t left_ms = int64_t(b.until_ms - now);
    bans.push_back({{ban_kind_name(b.kind), b.key}, {"until", iso_time(hub.wall_ms() + left_ms)}, {"seconds_left", (left_ms + 999) / 1000}});
  }
  reply(response, 200, {{"bans", bans}});
}

// {"address": "1.2.3.4" | "account": "acme", "seconds": N}: the reason it is not, or empty.
std::string read_ban(const std::string& body, BanKind& kind, std::string& key, int64_t& seconds) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "the body must be a JSON object";
  bool by_address = j.contains("address"), by_account = j.contains("account");
  if (by_address == by_account) return "give one of address or account";
  const json& who = j[by_address ? "address" : "account"];
  if (!who.is_string()) return "address and account are strings";
  kind = by_address ? BanKind::address : BanKind::account;
  key = who.get<std::string>();
  if (by_address) {
    auto address = canonical_address(key);
    if (!address) return fmt::format("{} is not an IPv4 or IPv6 address", json_quoted(key));
    key = *address;
  } else if (key.empty() || key.size() > kAccountMax) {
    return fmt::format("an account name has 1 to {} characters", kAccountMax);
  }
  if (!j.contains("seconds") || !j["seconds"].is_number_integer()) return "seconds must be a whole number";
  seconds = j["seconds"].get<int64_t>();
  if (seconds < 1 || seconds > kBanSecondsMax) return fmt::format("seconds must be between 1 and {}", kBanSecondsMax);
  return "";
}

void ban(Hub& hub, const HttpRequest& r, HttpResponse& response) {
  BanKind kind = BanKind::address;
  std::string key;
  int64_t seconds = 0;
  std::string why = read_ban(r.body, kind, key, seconds);
  std::optional<size_t> kicked;
  if (!why.empty()) refuse(response, 400, why);
  else if (!(kicked = hub.customers().ban(kind, key, hub.now_ms() + uint64_t(seconds) * 1000)))
    refuse(response, 409, fmt::format("{} bans are in force already", Bans::kMax));
  else
    reply(response, 200, {{"ok", true}, {ban_kind_name(kind), key}, {"seconds", seconds},
                          {"until", iso_time(hub.wall_ms() + seconds * 1000)}, {"kicked", *kicked}});
  std::string target = key.empty() ? "" : fmt::format("{} {}", ban_kind_name(kind), key);
  record(hub, r, "ban", target, response,
         kicked ? fmt::format("banned for {} s, {} sessions kicked", seconds, *kicked) : error_of(response));
}

void unban(Hub& hub, const HttpRequest& r, HttpResponse& response) {
  std::string key = r.captures.at(0);
  if (auto address = canonical_address(key)) key = *address;
  if (hub.customers().unban(key)) reply(response, 200, {{"ok", true}, {"lifted", key}});
  else refuse(response, 404, fmt::format("no ban on {}", json_quoted(key)));
  record(hub, r, "unban", key, response, response.status == 200 ? "lifted" : "no such ban");
}

// ---- operator links ----

const char* verb(UpstreamControl action) {
  switch (action) {
    case UpstreamControl::stop: return "stop";
    case UpstreamControl::start: return "start";
    case UpstreamControl::drain: return "drain";
  }
  return "";
}

void control_upstream(Hub& hub, UpstreamControl action, const HttpRequest& r, HttpResponse& response) {
  const std::string& name = r.captures.at(0);
  if (!hub.upstreams().control(name, action)) {
    refuse(response, 404, fmt::format("no upstream {}", json_quoted(name)));
  } else {
    std::string control;
    for (const auto& u : hub.snapshot().upstreams)
      if (u.name == name) control = u.control;
    reply(response, 200, {{"ok", true}, {"upstream", name}, {"control", control}});
  }
  record(hub, r, fmt::format("upstream {}", verb(action)), name, response, response.status == 200 ? "done" : "no such upstream");
}

// ---- reload ----

void reload(Hub& hub, const HttpRequest& r, HttpResponse& response) {
  std::vector<std::string> errors;
  hub.reopen_audit_log();  // as SIGHUP does
  if (hub.reload(&errors)) reply(response, 200, {{"ok", true}, {"policy", hub.policy_version()}});
  else reply(response, 422, {{"ok", false}, {"error", fmt::format("{} errors; nothing changed", errors.size())}, {"errors", errors}});
  record(hub, r, "reload", hub.config().path, response, response.status == 200 ? "applied" : fmt::format("{} errors", errors.size()));
}

}  // namespace

void add_admin_routes(StatsServer& server, Hub& hub) {
  server.guard("/admin/", [&hub](const HttpRequest& r, HttpResponse& response) { return gate(hub, r, response); });
  server.route("GET", "/admin/sessions", [&hub](const HttpRequest&, HttpResponse& response) { list_sessions(hub, response); });
  server.route("POST", "/admin/sessions/*/kick", [&hub](const HttpRequest& r, HttpResponse& response) { kick(hub, r, response); });
  server.route("GET", "/admin/bans", [&hub](const HttpRequest&, HttpResponse& response) { list_bans(hub, response); });
  server.route("POST", "/admin/bans", [&hub](const HttpRequest& r, HttpResponse& response) { ban(hub, r, response); });
  server.route("DELETE", "/admin/bans/*", [&hub](const HttpRequest& r, HttpResponse& response) { unban(hub, r, response); });
  for (UpstreamControl action : {UpstreamControl::stop, UpstreamControl::start, UpstreamControl::drain})
    server.route("POST", fmt::format("/admin/upstreams/*/{}", verb(action)),
                 [&hub, action](const HttpRequest& r, HttpResponse& response) { control_upstream(hub, action, r, response); });
  server.route("POST", "/admin/reload", [&hub](const HttpRequest& r, HttpResponse& response) { reload(hub, r, response); });
}

}  // namespace proxy
