// `hajib check --config F`: loads every file as the proxy would and reports every error.
#include "proxy/ops/commands.h"

#include <fmt/format.h>

#include "proxy/ops/common.h"

namespace proxy {

int run_check(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  auto config = load_or_report(take_config(args));
  if (!config) return 1;
  fmt::print("{}: ok ({} upstreams, {} accounts)\n", config->path, config->upstreams.size(), config->accounts.size());
  return 0;
}

}  // namespace proxy
