// `hajib balance`: a prepaid account's balance in the state store (REGULATIONS 9).
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include "proxy/ops/common.h"
#include "proxy/state/lua_scripts.h"
#include "proxy/state/redis_sync.h"
#include "proxy/state/store.h"

namespace proxy {

namespace {

struct BalanceArgs {
  std::string config, account;
  long long amount = 0;
  bool force = false, json = false;
};

void print_balance(const BalanceArgs& a, long long balance) {
  if (a.json) fmt::print("{}\n", nlohmann::json{{"account", a.account}, {"balance", balance}}.dump());
  else fmt::print("{}\n", balance);
}

int show(const BalanceArgs& a) {
  auto config = state_config(a.config, &a.account, "balance");
  if (!config) return 1;
  std::string key = keys::balance(a.account), error;
  SyncRedis redis;
  if (!redis.connect(*config, error)) return fmt::print(stderr, "hajib balance: {}\n", error), 1;
  auto reply = redis.command(error, "GET %s", key.c_str());
  if (!reply) return fmt::print(stderr, "hajib balance: {}\n", error), 1;
  print_balance(a, reply->type == REDIS_REPLY_STRING ? std::atoll(reply->str) : 0);
  return 0;
}

int add(const BalanceArgs& a) {
  auto config = state_config(a.config, &a.account, "balance");
  if (!config) return 1;
  OpsAudit audit(*config);
  if (!audit.open("balance")) return 1;
  std::string key = keys::balance(a.account), amount = std::to_string(a.amount), error;
  SyncRedis redis;
  if (!redis.connect(*config, error)) return fmt::print(stderr, "hajib balance: {}\n", error), 1;
  auto reply = redis.command(error, "EVAL %s 1 %s %s %s", lua::balance_add, key.c_str(), amount.c_str(), a.force ? "1" : "0");
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
    return fmt::print(stderr, "hajib balance: {}\n", error.empty() ? "unexpected reply from Redis" : error), 1;
  long long balance = reply->element[0]->integer;
  if (reply->element[1]->integer == 0) {
    fmt::print(stderr, "hajib balance: the balance of {} is {}; adding {} would take it below zero (--force to do it anyway)\n",
               a.account, balance, a.amount);
    return 1;
  }
  audit.record("balance add", {{"account", a.account}, {"added", a.amount}, {"balance", balance}, {"forced", a.force}});
  print_balance(a, balance);
  return 0;
}

}  // namespace

void add_balance(CLI::App& app, OpsRun& run) {
  auto* balance = app.add_subcommand("balance", "a prepaid account's balance in the state store")->require_subcommand(1);
  auto a = std::make_shared<BalanceArgs>();
  auto* shown = balance->add_subcommand("show", "the units left");
  add_config_option(*shown, a->config);
  add_account_option(*shown, a->account);
  add_json_flag(*shown, a->json);
  shown->callback([&run, a] { run = [a] { return show(*a); }; });
  auto* added = balance->add_subcommand("add", "add N units (N < 0 takes them away, never below zero without --force)");
  add_config_option(*added, a->config);
  add_account_option(*added, a->account);
  added->add_option("N", a->amount, "a whole number of units, negative to take away")->required();
  added->add_flag("--force", a->force, "take the balance below zero if N says so");
  add_json_flag(*added, a->json);
  added->callback([&run, a] { run = [a] { return add(*a); }; });
}

}  // namespace proxy
