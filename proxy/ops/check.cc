// `hajib check --config F|DIR`: loads every file as the proxy would, reports every error, and
// (here only: the daemon never waits on DNS) checks that each upstream host resolves.
#include "proxy/ops/commands.h"

#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>

#include <filesystem>

#include "proxy/ops/common.h"

namespace proxy {

namespace {

// A directory stands for the hajib.yaml in it, as in /etc/hajib/.
std::string config_file_of(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return path;
  std::string file = (std::filesystem::path(path) / "hajib.yaml").string();
  fmt::print("{} is a directory: checking {}\n", path, file);
  return file;
}

// "" when `host` resolves, else the resolver's reason.
std::string resolve_error(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (found) freeaddrinfo(found);
  return rc == 0 ? "" : gai_strerror(rc);
}

// Every upstream host that does not resolve, reported; how many.
int report_unresolved(const Config& config) {
  int unresolved = 0;
  for (const auto& upstream : config.upstreams) {
    std::string why = resolve_error(upstream.address.host);
    if (why.empty()) continue;
    fmt::print(stderr, "{}: upstream {} host '{}' does not resolve: {}\n", config.path, upstream.name, upstream.address.host, why);
    ++unresolved;
  }
  return unresolved;
}

struct CheckArgs {
  std::string path;
  bool no_resolve = false;
};

int check(const CheckArgs& a) {
  auto config = load_or_report(config_file_of(a.path));
  if (!config) return 1;
  if (!a.no_resolve && report_unresolved(*config)) return 1;
  fmt::print("{}: ok ({} upstreams, {} accounts)\n", config->path, config->upstreams.size(), config->accounts.size());
  return 0;
}

}  // namespace

void add_check(CLI::App& app, OpsRun& run) {
  auto* sub = app.add_subcommand("check", "validate a configuration and exit (non-zero on errors)");
  auto a = std::make_shared<CheckArgs>();
  add_config_option(*sub, a->path)->description("the configuration file, or a directory holding hajib.yaml");
  sub->add_flag("--no-resolve", a->no_resolve, "skip the check that each upstream host resolves (DNS may not be up yet at boot)");
  sub->callback([&run, a] { run = [a] { return check(*a); }; });
}

}  // namespace proxy
