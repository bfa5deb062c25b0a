// `hajib ctl`: the admin API's command-line client (a placeholder until the real one lands).
#include "proxy/ops/commands.h"

#include <fmt/format.h>

namespace proxy {

int run_ctl(const std::vector<std::string>&) {
  fmt::print(stderr, "hajib ctl: not built yet\n");
  return 2;
}

}  // namespace proxy
