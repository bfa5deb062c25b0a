// The daemon: loads the configuration, builds the hub and the stats port, and runs the loop
// until a signal stops it.
#include "proxy/daemon.h"

#include <systemd/sd-daemon.h>
#include <uv.h>

#include <csignal>
#include <ctime>
#include <fmt/format.h>

#include "proxy/admin/routes.h"
#include "policy/saudi_time.h"
#include "proxy/config/config.h"
#include "proxy/customer/passwords.h"
#include "proxy/hub.h"
#include "proxy/log.h"
#include "proxy/state/store.h"
#include "proxy/stats/server.h"
#include "proxy/stats/status_page.h"

namespace proxy {
namespace {

// /readyz: ready for traffic when every operator has a bound link and, if a rule in force
// blocks without it, the state store answers; not from SIGTERM on, so that a balancer's health
// check takes the instance out while it drains. (/healthz only says that the loop answers.)
int readiness(const Snapshot& s, bool leaving, std::string& body) {
  std::string problems = leaving ? "shutting down: take this instance out of the balancer\n" : "";
  for (const auto& u : s.upstreams)
    if (u.links_bound == 0)
      problems += fmt::format("upstream {} has no bound link{}\n", u.name, u.control == "running" ? "" : " (" + u.control + " through the admin API)");
  if (s.state_store == "redis down" && s.store_needed) problems += "state store is down and a rule in force needs it\n";
  body = problems.empty() ? "ok\n" : problems;
  return problems.empty() ? 200 : 503;
}

// Tells systemd (Type=notify) where the daemon stands; without $NOTIFY_SOCKET sd_notify does nothing.
void notify_service_manager(const std::string& state) { sd_notify(0, state.c_str()); }

// RELOADING=1 carries the monotonic time, which systemd's Type=notify-reload (253 and later) requires.
std::string reloading_state() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return fmt::format("RELOADING=1\nMONOTONIC_USEC={}", int64_t{now.tv_sec} * 1000000 + now.tv_nsec / 1000);
}

}  // namespace

// --fake-time-file (tests only): the instant written in the file, read at start and on SIGUSR2,
// so that a test can move the rules' clock (a held message's release) without waiting.
std::optional<int64_t> read_fake_time(const std::string& file) {
  FILE* f = std::fopen(file.c_str(), "r");
  if (!f) return std::nullopt;
  char buf[64] = {};
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string_view text(buf, n);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  return policy::parse_instant(text);
}

int run_daemon(const std::string& path, std::optional<int64_t> frozen_clock, std::string fake_time_file) {
  if (!fake_time_file.empty()) {
    frozen_clock = read_fake_time(fake_time_file);
    if (!frozen_clock) {
      log::error("--fake-time-file {} does not hold a time like 2027-02-20T11:59:00+03:00", fake_time_file);
      return 1;
    }
  }
  std::vector<ConfigError> errors;
  auto config = load_config(path, errors);
  if (!config) {
    for (const auto& e : errors) fmt::print(stderr, "{}\n", e.to_string());
    log::error("{} has errors; not starting", path);
    return 1;
  }
  log::set_level(config->log_level);
  if (!passwords_init()) {
    log::error("libsodium failed to start");
    return 1;
  }
  std::signal(SIGPIPE, SIG_IGN);
  if (!config->memory_state() && config->number_key.empty())
    log::warn("state.number_key is not set: phone numbers in Redis keys are hashed with a built-in key; set 64 random hex digits (the same on every instance)");
  std::string error;
  auto instance = claim_instance_number(*config, error);
  if (!instance) {
    // Redis down at start-up: keep going (the store reconnects), with a random instance number.
    log::warn("{}; using a random instance number for message ids", error);
    Config memory;
    instance = claim_instance_number(memory, error);
  }

  uv_loop_t* loop = uv_default_loop();
  Hub relay(loop, *config, *instance, HAJIB_VERSION);
  if (frozen_clock) {
    relay.freeze_clock_at(*frozen_clock);
    log::warn("the rules' clock is frozen at {} (--fake-time): for tests only", *frozen_clock);
  }
  if (int rc = relay.start()) {
    log::error("cannot listen on {}{}: {}", config->smpp_listen.to_string(),
               config->smpps_listen ? " or " + config->smpps_listen->to_string() : "", uv_strerror(rc));
    return 1;
  }
  StatsServer stats(loop, config->limits, relay.counters());
  stats.route("GET", "/metrics", [&relay](const HttpRequest&, HttpResponse& r) { r.body = relay.stats().prometheus(relay.snapshot()); });
  stats.route("GET", "/stats", [&relay](const HttpRequest&, HttpResponse& r) {
    r.content_type = "application/json";
    r.body = relay.stats().json(relay.snapshot());
  });
  stats.route("GET", "/healthz", [](const HttpRequest&, HttpResponse& r) { r.body = "ok\n"; });
  stats.route("GET", "/readyz", [&relay](const HttpRequest&, HttpResponse& r) { r.status = readiness(relay.snapshot(), relay.leaving(), r.body); });
  stats.route("GET", "/", [&relay](const HttpRequest&, HttpResponse& r) {
    r.content_type = "text/html; charset=utf-8";
    r.body = status_page(relay.snapshot());
  });
  add_admin_routes(stats, relay);
  if (int rc = stats.listen(config->stats_listen)) {
    log::error("cannot listen on {} for stats: {}", config->stats_listen.to_string(), uv_strerror(rc));
    return 1;
  }
  const std::string smpps = config->smpps_listen ? fmt::format(" smpps={}:{}", config->smpps_listen->host, relay.smpps_port()) : "";
  log::info("listening smpp={}:{} stats={}:{}{}", config->smpp_listen.host, relay.smpp_port(),
             config->stats_listen.host, stats.port(), smpps);
  if (!config->admin.token.empty()) log::info("admin API on (token from {})", config->admin.token_file);
  if (!config->admin.token.empty() && config->audit_file.empty())
    log::warn("admin API on without audit.file: its actions are only in this log");
  notify_service_manager(fmt::format("READY=1\nSTATUS=listening smpp={}:{} stats={}:{}", config->smpp_listen.host,
                                     relay.smpp_port(), config->stats_listen.host, stats.port()));

  struct Stopper {
    Hub* relay;
    StatsServer* stats;
    uv_signal_t term{}, intr{}, hup{}, usr1{}, usr2{};
    std::string fake_time_file;
  } stopper{&relay, &stats, {}, {}, {}, {}, {}, fake_time_file};
  uv_signal_init(loop, &stopper.usr2);
  stopper.usr2.data = &stopper;
  if (!fake_time_file.empty())
    uv_signal_start(&stopper.usr2, [](uv_signal_t* s, int) {
      auto* st = static_cast<Stopper*>(s->data);
      if (auto t = read_fake_time(st->fake_time_file)) {
        st->relay->freeze_clock_at(*t);
        log::warn("the rules' clock moved to {} (--fake-time-file): for tests only", *t);
      }
    }, SIGUSR2);
  for (uv_signal_t* s : {&stopper.term, &stopper.intr, &stopper.hup, &stopper.usr1}) {
    uv_signal_init(loop, s);
    s->data = &stopper;
  }
  auto on_signal = [](uv_signal_t* s, int signum) {
    auto* st = static_cast<Stopper*>(s->data);
    log::info("signal {}: stopping", signum);
    notify_service_manager("STOPPING=1\nSTATUS=stopping: answering what is in flight");
    st->relay->shutdown([stats = st->stats] { stats->close(); });
    for (uv_signal_t* h : {&st->term, &st->intr, &st->hup, &st->usr1, &st->usr2}) uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
  };
  uv_signal_start(&stopper.term, on_signal, SIGTERM);
  uv_signal_start(&stopper.intr, on_signal, SIGINT);
  uv_signal_start(&stopper.hup, [](uv_signal_t* s, int) {
    auto* st = static_cast<Stopper*>(s->data);
    notify_service_manager(reloading_state());
    st->relay->reopen_audit_log();  // a reload also starts a new audit file, as SIGUSR1 (logrotate) does
    bool reloaded = st->relay->reload();
    notify_service_manager(reloaded ? "READY=1\nSTATUS=reloaded"
                                    : "READY=1\nSTATUS=reload refused: the files have errors, the previous policy stays");
  }, SIGHUP);
  uv_signal_start(&stopper.usr1, [](uv_signal_t* s, int) { static_cast<Stopper*>(s->data)->relay->reopen_audit_log(); }, SIGUSR1);

  uv_run(loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(loop);
  if (rc != 0) log::error("loop closed with handles still open");
  log::info("stopped");
  return 0;
}


}  // namespace proxy
