// `hajib held`: the messages held for later (quiet hours, review) in the state store: list, show,
// release (due now: the proxy decides it again at once) and drop (a REJECTD receipt if asked).
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include <ctime>

#include "policy/saudi_time.h"
#include "proxy/ops/common.h"
#include "proxy/state/held_record.h"
#include "proxy/state/lua_scripts.h"
#include "proxy/state/redis_sync.h"
#include "proxy/state/store.h"
#include "proxy/submit/message_text.h"
#include "smpp/pdu_view.h"

namespace proxy {

namespace {

struct HeldArgs {
  std::string config, account, id;
  bool json = false, all = false;
};

std::string when(int64_t unix_s) { return unix_s ? policy::saudi_iso(unix_s) : ""; }

std::optional<HeldRecord> read_record(SyncRedis& redis, const std::string& account, const std::string& id, std::string& error) {
  std::string key = keys::hold(account, id);
  auto reply = redis.command(error, "HGETALL %s", key.c_str());
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> fields;
  for (size_t i = 0; i + 1 < reply->elements; i += 2)
    fields.emplace_back(std::string(reply->element[i]->str, reply->element[i]->len),
                        std::string(reply->element[i + 1]->str, reply->element[i + 1]->len));
  HeldRecord record;
  if (!record.read(account, id, fields)) return std::nullopt;
  return record;
}

nlohmann::ordered_json summary(const HeldRecord& r, int visible_digits) {
  nlohmann::ordered_json j = {{"account", r.account}, {"id", r.id}, {"reason", r.reason}, {"campaign", r.campaign},
                              {"release_at", r.release_at ? nlohmann::ordered_json(when(r.release_at)) : nlohmann::ordered_json(nullptr)},
                              {"expires", r.expires ? nlohmann::ordered_json(when(r.expires)) : nlohmann::ordered_json(nullptr)},
                              {"source", r.source}, {"destination", AuditLog::mask(r.destination, visible_digits)},
                              {"parts", r.parts.size()}};
  if (r.dropped) j["dropped"] = true;
  return j;
}

int list(const HeldArgs& a) {
  auto config = state_config(a.config, a.account.empty() ? nullptr : &a.account, "held");
  if (!config) return 1;
  std::string error;
  SyncRedis redis;
  if (!redis.connect(*config, error)) return fmt::print(stderr, "hajib held: {}\n", error), 1;
  std::vector<std::string> accounts;
  if (!a.account.empty()) accounts.push_back(a.account);
  else
    for (const auto& [name, account] : config->accounts) accounts.push_back(name);
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& account : accounts) {
    std::string due = keys::hold_due(account);
    auto ids = redis.command(error, "ZRANGE %s 0 -1", due.c_str());
    if (!ids) return fmt::print(stderr, "hajib held: {}\n", error), 1;
    for (size_t i = 0; i < ids->elements; ++i) {
      std::string id(ids->element[i]->str, ids->element[i]->len);
      if (auto record = read_record(redis, account, id, error)) out.push_back(summary(*record, config->audit_visible_digits));
    }
  }
  if (a.json) return fmt::print("{}\n", out.dump()), 0;
  fmt::print("{:<12} {:<16} {:<7} {:<26} {:<26} {:<12} {}\n", "ACCOUNT", "ID", "REASON", "RELEASE (Saudi time)", "EXPIRES",
             "SOURCE", "DESTINATION");
  for (const auto& r : out)
    fmt::print("{:<12} {:<16} {:<7} {:<26} {:<26} {:<12} {}{}\n", r["account"].get<std::string>(), r["id"].get<std::string>(),
               r["reason"].get<std::string>(), r["release_at"].is_null() ? "when released" : r["release_at"].get<std::string>(),
               r["expires"].is_null() ? "-" : r["expires"].get<std::string>(), r["source"].get<std::string>(),
               r["destination"].get<std::string>(), r["campaign"].get<std::string>().empty() ? "" : " campaign " + r["campaign"].get<std::string>());
  fmt::print("{} held\n", out.size());
  return 0;
}

int show(const HeldArgs& a) {
  auto config = state_config(a.config, &a.account, "held");
  if (!config) return 1;
  std::string error;
  SyncRedis redis;
  if (!redis.connect(*config, error)) return fmt::print(stderr, "hajib held: {}\n", error), 1;
  auto record = read_record(redis, a.account, a.id, error);
  if (!record) return fmt::print(stderr, "hajib held: no held message {} in account {}{}\n", a.id, a.account, error.empty() ? "" : ": " + error), 1;
  nlohmann::ordered_json j = summary(*record, config->audit_visible_digits);
  j["held_at"] = when(record->held_at);
  j["class"] = record->message_class;
  j["registered_delivery"] = record->registered_delivery;
  std::string text, part;
  nlohmann::ordered_json ids = nlohmann::ordered_json::array();
  for (const auto& p : record->parts) {
    ids.push_back(p.id);
    smpp::ShortMessageView sm;
    smpp::DecodeError e;
    if (smpp::read_short_message(p.pdu, sm, e) && message_text(sm, config->text, part) == TextResult::ok) text += part;
  }
  j["part_ids"] = ids;
  j["text"] = text;
  if (a.json) return fmt::print("{}\n", j.dump()), 0;
  for (const auto& [k, v] : j.items()) fmt::print("{:<20} {}\n", k, v.is_string() ? v.get<std::string>() : v.dump());
  return 0;
}

// release (due now) or drop (due now, marked dropped): the running proxies do the rest.
int change(const HeldArgs& a, bool drop) {
  const char* verb = drop ? "drop" : "release";
  auto config = state_config(a.config, &a.account, "held");
  if (!config) return 1;
  if (a.id.empty() == !a.all) return fmt::print(stderr, "hajib held {}: give one ID or --all\n", verb), 2;
  OpsAudit audit(*config);
  if (!audit.open("held")) return 1;
  std::string error, due = keys::hold_due(a.account), records = keys::hold(a.account, ""),
                     now = std::to_string(int64_t(std::time(nullptr)));
  SyncRedis redis;
  if (!redis.connect(*config, error)) return fmt::print(stderr, "hajib held: {}\n", error), 1;
  // Due at once whatever the running proxies' clock says (score 1); the record says when it was asked.
  auto reply = redis.command(error, "EVAL %s 2 %s %s 1 %s %s %s %s %s", lua::held_release, due.c_str(), due.c_str(),
                             a.all ? "all" : "id", a.id.c_str(), records.c_str(), drop ? "1" : "", now.c_str());
  if (!reply || reply->type != REDIS_REPLY_INTEGER) return fmt::print(stderr, "hajib held: {}\n", error.empty() ? "unexpected reply" : error), 1;
  audit.record(std::string("held ") + verb, {{"account", a.account}, {"id", a.all ? "all" : a.id}, {"messages", reply->integer}});
  if (reply->integer == 0 && !a.all) return fmt::print(stderr, "hajib held {}: no held message {} in account {}\n", verb, a.id, a.account), 1;
  if (a.json) return fmt::print("{}\n", nlohmann::json{{"account", a.account}, {verb == std::string("drop") ? "dropped" : "released", reply->integer}}.dump()), 0;
  fmt::print("{} held messages {}: a running proxy {} within a second\n", reply->integer, drop ? "dropped" : "due now",
             drop ? "sends their failure receipts (REJECTD, if asked)" : "decides them again (a window still closed holds them again)");
  return 0;
}

}  // namespace

void add_held(CLI::App& app, OpsRun& run) {
  auto* held = app.add_subcommand("held", "messages held for later (quiet hours, review): list, show, release, drop")->require_subcommand(1);
  auto a = std::make_shared<HeldArgs>();
  auto* listed = held->add_subcommand("list", "every held message: account, id, reason, release time, expiry, source, masked destination");
  add_config_option(*listed, a->config);
  listed->add_option("--account", a->account, "only this account")->type_name("NAME");
  add_json_flag(*listed, a->json);
  listed->callback([&run, a] { run = [a] { return list(*a); }; });
  auto* shown = held->add_subcommand("show", "one held message, with its text");
  add_config_option(*shown, a->config);
  add_account_option(*shown, a->account);
  shown->add_option("ID", a->id, "its message id (the first part's for a long message)")->required();
  add_json_flag(*shown, a->json);
  shown->callback([&run, a] { run = [a] { return show(*a); }; });
  for (bool drop : {false, true}) {
    auto* sub = held->add_subcommand(drop ? "drop" : "release",
                                     drop ? "drop held messages: a REJECTD receipt each, if asked"
                                          : "make held messages due now (decided again at once: a closed window holds them again)");
    add_config_option(*sub, a->config);
    add_account_option(*sub, a->account);
    sub->add_option("ID", a->id, "its message id");
    sub->add_flag("--all", a->all, "every held message of the account");
    add_json_flag(*sub, a->json);
    sub->callback([&run, a, drop] { run = [a, drop] { return change(*a, drop); }; });
  }
}

}  // namespace proxy
