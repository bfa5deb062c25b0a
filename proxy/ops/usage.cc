// `hajib usage`: messages and parts relayed per account, day and class; with --bill, what each
// account and its sponsor owe for a period (docs/policy.md, Billing).
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <tuple>

#include "policy/saudi_time.h"
#include "proxy/config/billing.h"
#include "proxy/ops/common.h"
#include "proxy/state/redis_sync.h"
#include "proxy/state/store.h"

namespace proxy {

namespace {

struct UsageArgs {
  std::string config, account, from, to, quarter;
  bool json = false, bill = false;
};

struct UsageRow {
  std::string account, day, message_class;
  long long messages, parts;
};

// Saudi day number back to its date: the instant of its noon, in Saudi time.
std::string date_of(int64_t day) {
  std::time_t noon = std::time_t(day * 86400 + 9 * 3600);
  std::tm tm{};
  gmtime_r(&noon, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

void print_rows(const std::vector<UsageRow>& rows, bool json) {
  if (json) {
    auto out = nlohmann::ordered_json::array();
    for (const auto& r : rows)
      out.push_back({{"account", r.account}, {"day", r.day}, {"class", r.message_class}, {"messages", r.messages}, {"parts", r.parts}});
    fmt::print("{}\n", out.dump());
    return;
  }
  fmt::print("account,day,class,messages,parts\n");
  for (const auto& r : rows) fmt::print("{},{},{},{},{}\n", r.account, r.day, r.message_class, r.messages, r.parts);
}

// Every row of the days from..to (Saudi days, both included), account by account.
bool read_rows(const Config& config, const std::string& only, int64_t first, int64_t last, std::vector<UsageRow>& rows) {
  std::string error;
  SyncRedis redis;
  if (!redis.connect(config, error)) return fmt::print(stderr, "hajib usage: {}\n", error), false;
  for (const auto& [name, account] : config.accounts) {
    if (!only.empty() && only != name) continue;
    for (int64_t day = first; day <= last; ++day) {
      auto reply = redis.command(error, "HGETALL %s", keys::usage(name, day).c_str());
      if (!reply) return fmt::print(stderr, "hajib usage: {}\n", error), false;
      std::map<std::string, std::pair<long long, long long>> by_class;
      for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        std::string field(reply->element[i]->str, reply->element[i]->len);
        long long n = std::atoll(reply->element[i + 1]->str);
        size_t colon = field.find(':');
        auto& row = by_class[field.substr(0, colon)];
        (field.ends_with(":parts") ? row.second : row.first) += n;
      }
      for (const auto& [cls, counts] : by_class) rows.push_back({name, date_of(day), cls, counts.first, counts.second});
    }
  }
  return true;
}

struct BillRow {
  std::string account, message_class;
  long long messages = 0, parts = 0;
  int percent = 100;
  Bill bill;
};

// The period's rows summed per account and class, priced, and split by the account's shares.
std::vector<BillRow> bill_rows(const Config& config, const std::vector<UsageRow>& rows) {
  std::map<std::pair<std::string, std::string>, BillRow> by;
  for (const auto& r : rows) {
    BillRow& b = by[{r.account, r.message_class}];
    b.account = r.account;
    b.message_class = r.message_class;
    b.messages += r.messages;
    b.parts += r.parts;
  }
  std::vector<BillRow> out;
  for (auto& [key, b] : by) {
    const AccountConfig* account = config.account(b.account);
    auto cls = std::find(policy::kClassNames.begin(), policy::kClassNames.end(), b.message_class);
    // A class this build does not know (written by another version) is charged in full.
    if (account && cls != policy::kClassNames.end()) b.percent = account->billing[size_t(cls - policy::kClassNames.begin())];
    b.bill = bill_of(b.parts, config.billing.price_per_part, b.percent);
    out.push_back(std::move(b));
  }
  return out;
}

void print_bill(const Config& config, const std::string& from, const std::string& to, const std::vector<BillRow>& rows, bool json) {
  const std::string& currency = config.billing.currency;
  BillRow total;
  for (const auto& r : rows) {
    total.messages += r.messages;
    total.parts += r.parts;
    total.bill += r.bill;
  }
  if (json) {
    auto money = [](Money m) { return format_money(m); };
    auto out = nlohmann::ordered_json::object();
    out["from"] = from;
    out["to"] = to;
    out["currency"] = currency;
    out["price_per_part"] = money(config.billing.price_per_part);
    auto& list = out["rows"] = nlohmann::ordered_json::array();
    for (const auto& r : rows) {
      const AccountConfig* account = config.account(r.account);
      list.push_back({{"account", r.account}, {"billing", account ? account->billing_kind : "dependent"}, {"class", r.message_class},
                      {"messages", r.messages}, {"parts", r.parts}, {"amount", money(r.bill.amount)}, {"account_percent", r.percent},
                      {"account_share", money(r.bill.account_share)}, {"sponsor_share", money(r.bill.sponsor_share)}});
    }
    out["total"] = {{"messages", total.messages}, {"parts", total.parts}, {"amount", money(total.bill.amount)},
                    {"account_share", money(total.bill.account_share)}, {"sponsor_share", money(total.bill.sponsor_share)}};
    fmt::print("{}\n", out.dump());
    return;
  }
  fmt::print("account,class,messages,parts,amount,account_percent,account_share,sponsor_share,currency\n");
  for (const auto& r : rows)
    fmt::print("{},{},{},{},{},{},{},{},{}\n", r.account, r.message_class, r.messages, r.parts, format_money(r.bill.amount),
               r.percent, format_money(r.bill.account_share), format_money(r.bill.sponsor_share), currency);
  fmt::print("total,,{},{},{},,{},{},{}\n", total.messages, total.parts, format_money(total.bill.amount),
             format_money(total.bill.account_share), format_money(total.bill.sponsor_share), currency);
}

int usage(UsageArgs a) {
  if (!a.quarter.empty()) {
    auto days = quarter_days(a.quarter);
    if (!days || !a.from.empty() || !a.to.empty())
      return fmt::print(stderr, "hajib usage: --quarter takes YYYYQn (2026Q4), instead of --from and --to\n"), 2;
    std::tie(a.from, a.to) = *days;
  }
  auto from = policy::parse_instant(a.from + "T00:00"), to = policy::parse_instant(a.to + "T00:00");
  if (!from || !to || *to < *from || a.from.size() != 10 || a.to.size() != 10)
    return fmt::print(stderr, "hajib usage: --from and --to need real dates, YYYY-MM-DD, --from not after --to (or give --quarter)\n"), 2;
  auto config = state_config(a.config, a.account.empty() ? nullptr : &a.account, "usage");
  if (!config) return 1;
  if (a.bill && !config->billing.configured())
    return fmt::print(stderr, "hajib usage: --bill needs billing: {{ price_per_part, currency }} in {}\n", config->path), 1;
  std::vector<UsageRow> rows;
  if (!read_rows(*config, a.account, policy::saudi_time(*from).day, policy::saudi_time(*to).day, rows)) return 1;
  if (a.bill) print_bill(*config, a.from, a.to, bill_rows(*config, rows), a.json);
  else print_rows(rows, a.json);
  return 0;
}

}  // namespace

void add_usage(CLI::App& app, OpsRun& run) {
  auto* sub = app.add_subcommand("usage", "messages and parts relayed per account, Saudi day and class (CSV), for billing; with --bill, the bill");
  auto a = std::make_shared<UsageArgs>();
  add_config_option(*sub, a->config);
  sub->add_option("--from", a->from, "the first Saudi day")->type_name("YYYY-MM-DD");
  sub->add_option("--to", a->to, "the last Saudi day")->type_name("YYYY-MM-DD");
  sub->add_option("--quarter", a->quarter, "a calendar quarter instead of --from and --to: 2026Q4 is October to December")
      ->type_name("YYYYQn");
  sub->add_flag("--bill", a->bill,
                "per account and class: messages, parts, amount (parts x billing.price_per_part), the account's share "
                "and the sponsor's (the account's billing), and a total");
  sub->add_option("--account", a->account, "only this account")->type_name("A");
  add_json_flag(*sub, a->json);
  sub->callback([&run, a] { run = [a] { return usage(*a); }; });
}

}  // namespace proxy
