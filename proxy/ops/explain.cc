// `hajib explain`: what every rule says of one message at one instant.
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include <ctime>

#include "policy/msisdn.h"
#include "policy/saudi_time.h"
#include "proxy/ops/common.h"
#include "smpp/protocol.h"

namespace proxy {

int run_explain(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  std::string path = take_config(args);
  std::string account, from, to, text, at;
  for (size_t i = 0; i + 1 < args.size(); i += 2) {
    const std::string& k = args[i];
    std::string* target = k == "--account" ? &account : k == "--from" ? &from : k == "--to" ? &to : k == "--text" ? &text
                        : k == "--at"      ? &at      : nullptr;
    if (!target) {
      fmt::print(stderr, "hajib explain: unknown option {}\n", k);
      return 2;
    }
    *target = args[i + 1];
  }
  if (args.size() % 2 || account.empty() || from.empty() || to.empty()) {
    fmt::print(stderr, "usage: hajib explain --config F --account A --from SENDER --to NUMBER --text TEXT [--at TIME]\n");
    return 2;
  }
  auto config = load_or_report(path);
  if (!config) return 1;
  if (!config->account(account)) {
    fmt::print(stderr, "hajib explain: no account '{}' in {}\n", account, path);
    return 1;
  }
  auto destination = policy::normalize_msisdn(to);
  if (!destination) {
    fmt::print("verdict: reject (destination.invalid)\nstatus: 0x{:08X} ESME_RINVDSTADR\n'{}' is not a Saudi mobile number\n",
               smpp::status::ESME_RINVDSTADR, to);
    return 0;
  }
  int64_t when = std::time(nullptr);
  if (!at.empty()) {
    auto parsed = policy::parse_instant(at);
    if (!parsed) {
      fmt::print(stderr, "hajib explain: --at needs a time like 2027-02-20T11:59:00+03:00\n");
      return 2;
    }
    when = *parsed;
  }
  policy::Trace trace;
  policy::Message message{account, from, *destination, text, true, 1};
  policy::Verdict v = config->policy->decide(message, policy::Context{when}, &trace);
  policy::SaudiTime saudi = policy::saudi_time(when);
  static constexpr const char* kOutcome[] = {"accept", "flag", "reject"};
  fmt::print("policy {} at {} (Saudi day {}, {:02}:{:02})\n", config->policy->version(), when, saudi.day, saudi.minute / 60,
             saudi.minute % 60);
  fmt::print("class: {}\n", policy::name(v.message_class));
  fmt::print("verdict: {}{}\n", kOutcome[size_t(v.outcome)],
             v.rule == policy::Rule::none ? "" : fmt::format(" ({})", policy::rule_id(v.rule)));
  std::string_view status = smpp::status_name(v.status);
  fmt::print("status: 0x{:08X}{}\n", v.status, status.empty() ? (v.status ? " (vendor-specific)" : "") : " " + std::string(status));
  static constexpr const char* kResult[] = {"pass", "FAIL", "n/a ", "off "};
  for (size_t r = 0; r < size_t(policy::Rule::count); ++r) {
    if (policy::is_stateful(policy::Rule(r))) fmt::print("  ----  {} (decided by the state store when relayed)\n", policy::rule_id(policy::Rule(r)));
    else fmt::print("  {}  {}\n", kResult[size_t(trace.results[r])], policy::rule_id(policy::Rule(r)));
  }
  return 0;
}

}  // namespace proxy
