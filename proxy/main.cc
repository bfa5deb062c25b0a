// hajib: the SMPP compliance proxy and its ops subcommands.
#include <uv.h>

#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <string>

#include "proxy/config.h"
#include "proxy/ops_commands.h"
#include "proxy/passwords.h"
#include "proxy/relay.h"
#include "proxy/state_store.h"
#include "proxy/stats_server.h"

namespace {

constexpr const char* kUsage =
    "usage: hajib --config FILE            run the proxy\n"
    "       hajib check --config FILE      validate a configuration and exit (non-zero on errors)\n"
    "       hajib passwd [PASSWORD]        print a password hash for an account's password_hash\n"
    "       hajib ports add|remove|import --config FILE ...   ported numbers in the state store\n"
    "       hajib --describe-stats         the counters the stats port shows\n"
    "       hajib --version | --help\n";

int health(const proxy::Snapshot& s, std::string& body) {
  std::string problems;
  for (const auto& u : s.upstreams)
    if (u.links_bound == 0) problems += fmt::format("upstream {} has no bound link\n", u.name);
  if (s.state_store == "redis down") problems += "state store is down\n";
  body = problems.empty() ? "ok\n" : problems;
  return problems.empty() ? 200 : 503;
}

int run_proxy(const std::string& path) {
  std::vector<proxy::ConfigError> errors;
  auto config = proxy::load_config(path, errors);
  if (!config) {
    for (const auto& e : errors) fmt::print(stderr, "{}\n", e.to_string());
    fmt::print(stderr, "hajib: {} has errors; not starting\n", path);
    return 1;
  }
  if (!proxy::passwords_init()) {
    fmt::print(stderr, "hajib: libsodium failed to start\n");
    return 1;
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::string error;
  auto instance = proxy::claim_instance_number(*config, error);
  if (!instance) {
    // Redis down at start-up: keep going (the store reconnects), with a random instance number.
    fmt::print(stderr, "hajib: {}; using a random instance number for message ids\n", error);
    proxy::Config memory;
    instance = proxy::claim_instance_number(memory, error);
  }

  uv_loop_t* loop = uv_default_loop();
  proxy::Relay relay(loop, *config, *instance, HAJIB_VERSION);
  if (int rc = relay.start()) {
    fmt::print(stderr, "hajib: cannot listen on {}: {}\n", config->smpp_listen.to_string(), uv_strerror(rc));
    return 1;
  }
  proxy::StatsServer stats(loop, [&relay](const std::string& path, std::string& type, std::string& body) {
    type = "text/plain; charset=utf-8";
    if (path == "/metrics") return body = relay.stats().prometheus(relay.snapshot()), 200;
    if (path == "/stats") return type = "application/json", body = relay.stats().json(relay.snapshot()), 200;
    if (path == "/healthz") return health(relay.snapshot(), body);
    return 0;
  });
  if (int rc = stats.listen(config->stats_listen)) {
    fmt::print(stderr, "hajib: cannot listen on {} for stats: {}\n", config->stats_listen.to_string(), uv_strerror(rc));
    return 1;
  }
  fmt::print(stderr, "hajib: listening smpp={}:{} stats={}:{}\n", config->smpp_listen.host, relay.smpp_port(),
             config->stats_listen.host, stats.port());

  struct Stopper {
    proxy::Relay* relay;
    proxy::StatsServer* stats;
    uv_signal_t term{}, intr{};
  } stopper{&relay, &stats};
  for (uv_signal_t* s : {&stopper.term, &stopper.intr}) {
    uv_signal_init(loop, s);
    s->data = &stopper;
  }
  auto on_signal = [](uv_signal_t* s, int signum) {
    auto* st = static_cast<Stopper*>(s->data);
    fmt::print(stderr, "hajib: signal {}: stopping\n", signum);
    st->relay->shutdown();
    st->stats->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&st->term), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&st->intr), nullptr);
  };
  uv_signal_start(&stopper.term, on_signal, SIGTERM);
  uv_signal_start(&stopper.intr, on_signal, SIGINT);

  uv_run(loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(loop);
  if (rc != 0) fmt::print(stderr, "hajib: loop closed with handles still open\n");
  fmt::print(stderr, "hajib: stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string first = argc > 1 ? argv[1] : "";
  if (first == "check") return proxy::run_check(argc - 2, argv + 2);
  if (first == "passwd") return proxy::run_passwd(argc - 2, argv + 2);
  if (first == "ports") return proxy::run_ports(argc - 2, argv + 2);
  if (first == "--version" || first == "-V") return fmt::print("hajib {}\n", HAJIB_VERSION), 0;
  if (first == "--help" || first == "-h") return fmt::print("{}", kUsage), 0;
  if (first == "--describe-stats") return fmt::print("{}", proxy::Stats::describe()), 0;
  if ((first == "--config" || first == "-c") && argc == 3) return run_proxy(argv[2]);
  fmt::print(stderr, "{}", kUsage);
  return 2;
}
