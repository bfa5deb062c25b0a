// hajib: the SMPP compliance proxy and its ops subcommands, parsed by CLI11.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <optional>
#include <string>

#include "policy/saudi_time.h"
#include "proxy/daemon.h"
#include "proxy/ops/commands.h"
#include "proxy/stats/stats.h"

namespace {

constexpr const char* kFooter =
    "Each subcommand has its own --help (hajib balance add --help). --config F, --config=F and -c F\n"
    "are the same everywhere. A usage error exits 2, a failure 1.\n"
    "Signals: SIGHUP reloads the configuration (and reopens the audit log), SIGUSR1 reopens the\n"
    "audit log, SIGTERM/SIGINT stop after answering what is in flight.";

struct DaemonArgs {
  std::string config, fake_time, fake_time_file;
  bool version = false, describe_stats = false;
};

// `hajib ctl ...`: everything after ctl goes to the admin client as typed, --help included.
void add_ctl(CLI::App& app, proxy::OpsRun& run) {
  auto* ctl = app.add_subcommand("ctl", "the admin API's client: sessions, kick, ban, links, reload (hajib ctl --help)");
  ctl->prefix_command()->set_help_flag();
  ctl->callback([&run, ctl] { run = [ctl] { return proxy::run_ctl(ctl->remaining()); }; });
}

void add_daemon_options(CLI::App& app, DaemonArgs& d) {
  auto* config = app.add_option("-c,--config", d.config, "run the proxy with this configuration file")->type_name("FILE");
  app.add_option("--fake-time", d.fake_time, "(tests only) freeze the clock the rules see, e.g. 2027-02-20T11:59:00+03:00")
      ->type_name("TIME")
      ->needs(config);
  app.add_option("--fake-time-file", d.fake_time_file,
                 "(tests only) freeze the rules' clock at the time in FILE, read again on SIGUSR2 (moves it)")
      ->type_name("FILE")
      ->needs(config);
  app.add_flag("-V,--version", d.version, "print the version");
  app.add_flag("--describe-stats", d.describe_stats, "the counters the stats port shows");
}

int run_daemon(const DaemonArgs& d) {
  std::optional<int64_t> frozen;
  if (!d.fake_time.empty() && !(frozen = policy::parse_instant(d.fake_time))) {
    fmt::print(stderr, "hajib: --fake-time needs a real time like 2027-02-20T11:59:00+03:00\n");
    return 2;
  }
  return proxy::run_daemon(d.config, frozen, d.fake_time_file);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hajib: an SMPP 3.4 compliance proxy for Saudi Arabia.\nusage: hajib --config FILE   run the proxy\n"
               "       hajib SUBCOMMAND ...   an ops subcommand (below)",
               "hajib"};
  app.footer(kFooter);
  app.require_subcommand(0, 1);
  DaemonArgs daemon;
  add_daemon_options(app, daemon);
  proxy::OpsRun run;
  proxy::add_check(app, run);
  proxy::add_explain(app, run);
  proxy::add_passwd(app, run);
  proxy::add_ports(app, run);
  proxy::add_optout(app, run);
  proxy::add_balance(app, run);
  proxy::add_usage(app, run);
  proxy::add_report(app, run);
  proxy::add_forget(app, run);
  proxy::add_review(app, run);
  proxy::add_held(app, run);
  add_ctl(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (run) return run();
  if (daemon.version) return fmt::print("hajib {}\n", HAJIB_VERSION), 0;
  if (daemon.describe_stats) return fmt::print("{}", proxy::Stats::describe()), 0;
  if (!daemon.config.empty()) return run_daemon(daemon);
  fmt::print(stderr, "{}", app.help());
  return 2;
}
