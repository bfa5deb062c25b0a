// `hajib explain`: what every rule says of one message at one instant.
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include <ctime>

#include "policy/campaign.h"
#include "policy/msisdn.h"
#include "policy/saudi_time.h"
#include "proxy/ops/common.h"
#include "smpp/protocol.h"

namespace proxy {

namespace {

struct ExplainArgs {
  std::string config, account, from, to, text, at;
};

int explain(const ExplainArgs& a) {
  int64_t when = std::time(nullptr);
  if (!a.at.empty()) {
    auto parsed = policy::parse_instant(a.at);
    if (!parsed) {
      fmt::print(stderr,
                 "hajib explain: --at '{}' is not a real date and time; write it like 2027-02-20T11:59:00+03:00 "
                 "(Z or no offset: UTC or Saudi time)\n",
                 a.at);
      return 2;
    }
    when = *parsed;
  }
  auto config = load_or_report(a.config);
  if (!config) return 1;
  if (!config->account(a.account)) {
    fmt::print(stderr, "hajib explain: no account '{}' in {}\n", a.account, a.config);
    return 1;
  }
  auto destination = policy::normalize_msisdn(a.to);
  if (!destination) {
    fmt::print("verdict: reject (destination.invalid)\nstatus: 0x{:08X} ESME_RINVDSTADR\n'{}' is not a Saudi mobile number\n",
               smpp::status::ESME_RINVDSTADR, a.to);
    return 0;
  }
  policy::Trace trace;
  policy::Message message{a.account, a.from, *destination, a.text, true, 1};
  policy::Verdict v = config->policy->decide(message, policy::Context{when}, &trace);
  fmt::print("policy {} at {} (Saudi time)\n", config->policy->version(), policy::saudi_iso(when));
  fmt::print("class: {}\n", policy::name(v.message_class));
  fmt::print("verdict: {}{}\n", policy::name(v.outcome),
             v.rule == policy::Rule::none ? "" : fmt::format(" ({})", policy::rule_id(v.rule)));
  if (v.held()) fmt::print("held until: {} (Saudi time)\n", policy::saudi_iso(v.hold_until_s));
  std::string_view status = smpp::status_name(v.status);
  fmt::print("status: 0x{:08X}{}\n", v.status, status.empty() ? (v.status ? " (vendor-specific)" : "") : " " + std::string(status));
  if (v.accepted() && config->policy->reviews(a.account, v.message_class)) {
    // Which campaign ops would approve for it (docs/policy.md, "Campaign review").
    policy::Campaign campaign;
    policy::CampaignTemplater().make(a.account, a.from, a.text, campaign);
    fmt::print("review: campaign {} ({}); passes once approved (hajib review)\n", campaign.id, campaign.template_text);
  }
  static constexpr const char* kResult[] = {"pass", "FAIL", "n/a ", "off "};
  for (size_t r = 0; r < size_t(policy::Rule::count); ++r) {
    if (policy::is_review(policy::Rule(r))) fmt::print("  ----  {} (decided by the campaign review when relayed)\n", policy::rule_id(policy::Rule(r)));
    else if (policy::is_stateful(policy::Rule(r))) fmt::print("  ----  {} (decided by the state store when relayed)\n", policy::rule_id(policy::Rule(r)));
    else fmt::print("  {}  {}\n", kResult[size_t(trace.results[r])], policy::rule_id(policy::Rule(r)));
  }
  return 0;
}

}  // namespace

void add_explain(CLI::App& app, OpsRun& run) {
  auto* sub = app.add_subcommand("explain", "the verdict and every rule for one message, at any moment, sending nothing");
  auto a = std::make_shared<ExplainArgs>();
  add_config_option(*sub, a->config);
  add_account_option(*sub, a->account);
  sub->add_option("--from", a->from, "the sender name or number")->required()->type_name("SENDER");
  sub->add_option("--to", a->to, "the destination number")->required()->type_name("NUMBER");
  sub->add_option("--text", a->text, "the message text")->type_name("TEXT");
  sub->add_option("--at", a->at, "the moment to judge at, e.g. 2027-02-20T11:59:00+03:00 (default: now)")->type_name("TIME");
  sub->callback([&run, a] { run = [a] { return explain(*a); }; });
}

}  // namespace proxy
