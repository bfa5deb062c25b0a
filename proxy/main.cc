// hajib: the SMPP compliance proxy and its ops subcommands.
#include <cstring>
#include <fmt/format.h>
#include <optional>
#include <string>

#include "policy/saudi_time.h"
#include "proxy/daemon.h"
#include "proxy/stats/stats.h"
#include "proxy/ops/commands.h"

namespace {

constexpr const char* kUsage =
    "usage: hajib --config FILE            run the proxy\n"
    "       hajib check --config FILE      validate a configuration and exit (non-zero on errors)\n"
    "       hajib explain --config FILE --account A --from SENDER --to NUMBER --text TEXT [--at TIME]\n"
    "                                      the verdict and every rule, at any moment, sending nothing\n"
    "       hajib passwd [PASSWORD]        print a password hash for an account's password_hash\n"
    "       hajib ports add|remove|import --config FILE ...   ported numbers in the state store\n"
    "       hajib optout add|remove|check|import|export --config FILE --account A ...   opt-outs\n"
    "       hajib balance show|add --config FILE --account A [N]   prepaid balance\n"
    "       hajib usage --config FILE --from YYYY-MM-DD --to YYYY-MM-DD [--account A]   CSV for billing\n"
    "       hajib forget --config FILE NUMBER   erase one number's counters\n"
    "       hajib ctl --config FILE sessions|kick|ban|unban|bans|upstream|reload ...   the admin API\n"
    "       hajib --describe-stats         the counters the stats port shows\n"
    "       hajib --version | --help\n"
    "signals: SIGHUP reloads the configuration (and reopens the audit log), SIGUSR1 reopens the\n"
    "audit log, SIGTERM/SIGINT stop after answering what is in flight.\n"
    "--fake-time TIME (tests only) freezes the clock the rules see at TIME (2027-02-20T11:59:00+03:00).\n";

}  // namespace

int main(int argc, char** argv) {
  std::string first = argc > 1 ? argv[1] : "";
  if (first == "check") return proxy::run_check(argc - 2, argv + 2);
  if (first == "passwd") return proxy::run_passwd(argc - 2, argv + 2);
  if (first == "ports") return proxy::run_ports(argc - 2, argv + 2);
  if (first == "explain") return proxy::run_explain(argc - 2, argv + 2);
  if (first == "optout") return proxy::run_optout(argc - 2, argv + 2);
  if (first == "balance") return proxy::run_balance(argc - 2, argv + 2);
  if (first == "usage") return proxy::run_usage(argc - 2, argv + 2);
  if (first == "forget") return proxy::run_forget(argc - 2, argv + 2);
  if (first == "ctl") return proxy::run_ctl(std::vector<std::string>(argv + 2, argv + argc));
  if (first == "--version" || first == "-V") return fmt::print("hajib {}\n", HAJIB_VERSION), 0;
  if (first == "--help" || first == "-h") return fmt::print("{}", kUsage), 0;
  if (first == "--describe-stats") return fmt::print("{}", proxy::Stats::describe()), 0;
  if ((first == "--config" || first == "-c") && (argc == 3 || argc == 5)) {
    std::optional<int64_t> frozen;
    if (argc == 5) {
      if (std::string(argv[3]) != "--fake-time" || !(frozen = policy::parse_instant(argv[4]))) {
        fmt::print(stderr, "hajib: --fake-time needs a time like 2027-02-20T11:59:00+03:00\n");
        return 2;
      }
    }
    return proxy::run_daemon(argv[2], frozen);
  }
  fmt::print(stderr, "{}", kUsage);
  return 2;
}
