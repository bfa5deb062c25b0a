// hajib: the SMPP compliance proxy and its ops subcommands.
#include <uv.h>

#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <optional>
#include <string>

#include "policy/saudi_time.h"
#include "proxy/log.h"
#include "proxy/config/config.h"
#include "proxy/ops/commands.h"
#include "proxy/customer/passwords.h"
#include "proxy/hub.h"
#include "proxy/state/store.h"
#include "proxy/stats/server.h"

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
    "       hajib --describe-stats         the counters the stats port shows\n"
    "       hajib --version | --help\n"
    "signals: SIGHUP reloads the configuration (and reopens the audit log), SIGUSR1 reopens the\n"
    "audit log, SIGTERM/SIGINT stop after answering what is in flight.\n"
    "--fake-time TIME (tests only) freezes the clock the rules see at TIME (2027-02-20T11:59:00+03:00).\n";

// /readyz: ready for traffic when every operator has a bound link and, if a rule in force
// blocks without it, the state store answers. (/healthz only says that the loop answers.)
int readiness(const proxy::Snapshot& s, std::string& body) {
  std::string problems;
  for (const auto& u : s.upstreams)
    if (u.links_bound == 0) problems += fmt::format("upstream {} has no bound link\n", u.name);
  if (s.state_store == "redis down" && s.store_needed) problems += "state store is down and a rule in force needs it\n";
  body = problems.empty() ? "ok\n" : problems;
  return problems.empty() ? 200 : 503;
}

int run_proxy(const std::string& path, std::optional<int64_t> frozen_clock) {
  std::vector<proxy::ConfigError> errors;
  auto config = proxy::load_config(path, errors);
  if (!config) {
    for (const auto& e : errors) fmt::print(stderr, "{}\n", e.to_string());
    proxy::log::error("{} has errors; not starting", path);
    return 1;
  }
  proxy::log::set_level(config->log_level);
  if (!proxy::passwords_init()) {
    proxy::log::error("libsodium failed to start");
    return 1;
  }
  std::signal(SIGPIPE, SIG_IGN);
  if (!config->memory_state() && config->number_key.empty())
    proxy::log::warn("state.number_key is not set: phone numbers in Redis keys are hashed with a built-in key; set 64 random hex digits (the same on every instance)");
  std::string error;
  auto instance = proxy::claim_instance_number(*config, error);
  if (!instance) {
    // Redis down at start-up: keep going (the store reconnects), with a random instance number.
    proxy::log::warn("{}; using a random instance number for message ids", error);
    proxy::Config memory;
    instance = proxy::claim_instance_number(memory, error);
  }

  uv_loop_t* loop = uv_default_loop();
  proxy::Hub relay(loop, *config, *instance, HAJIB_VERSION);
  if (frozen_clock) {
    relay.freeze_clock_at(*frozen_clock);
    proxy::log::warn("the rules' clock is frozen at {} (--fake-time): for tests only", *frozen_clock);
  }
  if (int rc = relay.start()) {
    proxy::log::error("cannot listen on {}: {}", config->smpp_listen.to_string(), uv_strerror(rc));
    return 1;
  }
  proxy::StatsServer stats(loop, [&relay](const std::string& path, std::string& type, std::string& body) {
    type = "text/plain; charset=utf-8";
    if (path == "/metrics") return body = relay.stats().prometheus(relay.snapshot()), 200;
    if (path == "/stats") return type = "application/json", body = relay.stats().json(relay.snapshot()), 200;
    if (path == "/healthz") return body = "ok\n", 200;
    if (path == "/readyz") return readiness(relay.snapshot(), body);
    return 0;
  }, config->limits, relay.counters());
  if (int rc = stats.listen(config->stats_listen)) {
    proxy::log::error("cannot listen on {} for stats: {}", config->stats_listen.to_string(), uv_strerror(rc));
    return 1;
  }
  proxy::log::info("listening smpp={}:{} stats={}:{}", config->smpp_listen.host, relay.smpp_port(),
             config->stats_listen.host, stats.port());

  struct Stopper {
    proxy::Hub* relay;
    proxy::StatsServer* stats;
    uv_signal_t term{}, intr{}, hup{}, usr1{};
  } stopper{&relay, &stats};
  for (uv_signal_t* s : {&stopper.term, &stopper.intr, &stopper.hup, &stopper.usr1}) {
    uv_signal_init(loop, s);
    s->data = &stopper;
  }
  auto on_signal = [](uv_signal_t* s, int signum) {
    auto* st = static_cast<Stopper*>(s->data);
    proxy::log::info("signal {}: stopping", signum);
    st->relay->shutdown();
    st->stats->close();
    for (uv_signal_t* h : {&st->term, &st->intr, &st->hup, &st->usr1}) uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
  };
  uv_signal_start(&stopper.term, on_signal, SIGTERM);
  uv_signal_start(&stopper.intr, on_signal, SIGINT);
  uv_signal_start(&stopper.hup, [](uv_signal_t* s, int) {
    auto* st = static_cast<Stopper*>(s->data);
    st->relay->reopen_audit_log();  // logrotate's postrotate sends SIGHUP too
    st->relay->reload();
  }, SIGHUP);
  uv_signal_start(&stopper.usr1, [](uv_signal_t* s, int) { static_cast<Stopper*>(s->data)->relay->reopen_audit_log(); }, SIGUSR1);

  uv_run(loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(loop);
  if (rc != 0) proxy::log::error("loop closed with handles still open");
  proxy::log::info("stopped");
  return 0;
}

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
    return run_proxy(argv[2], frozen);
  }
  fmt::print(stderr, "{}", kUsage);
  return 2;
}
