// libFuzzer target: YAML text through load_config (schema, includes, routes, accounts, the policy compiler).
//
// load_config reads a file, so each input is written to hajib.yaml in a private temporary folder
// that also holds policy.d/acme.yaml, for `include:` to find. Seeds: test/fuzz/corpus/config/.
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "proxy/config/config.h"

namespace {

namespace fs = std::filesystem;

void fail(const char* what) {
  std::fprintf(stderr, "property broken: %s\n", what);
  std::abort();
}

const char* kIncluded = R"(accounts:
  acme:
    password_hash: "$argon2id$v=19$m=16384,t=3,p=1$b4a7pns2N1tUT3AnzawDIQ$0osTwa29NTjd/NwQ4OIz+fDRt1c89eDCA9fhEReYCzQ"
    allow_ips: [ "127.0.0.0/8", "::1/128" ]
    mo_numbers: [ "7001", "0501234567" ]
    entity: private
    senders: { ACME: service, ACME-AD: promotional }
)";

struct Folder {
  fs::path dir, config;
  Folder() {
    std::string tmpl = (fs::temp_directory_path() / "hajib-config-fuzz-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) fail("mkdtemp");
    dir = tmpl;
    config = dir / "hajib.yaml";
    fs::create_directories(dir / "policy.d");
    std::ofstream(dir / "policy.d" / "acme.yaml") << kIncluded;
  }
  ~Folder() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// `include:` entries are paths relative to the config's folder; an input could name /dev/zero
// or a folder of unrelated files and turn the run into a hang or a test of this machine. The
// harness keeps includes inside its folder (the loader itself is left as it is: ops may include
// any path). yaml-cpp is asked what the loader will see, escapes and aliases resolved.
bool includes_stay_inside(const std::string& text) {
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) return true;
    YAML::Node include = root["include"];
    if (!include || !include.IsSequence()) return true;
    for (const auto& entry : include) {
      if (!entry.IsScalar()) continue;  // the loader reads it as "" (the folder itself)
      const std::string& p = entry.Scalar();
      if (p.starts_with('/') || p.find("..") != std::string::npos) return false;
    }
  } catch (...) {
    // The loader reports what yaml-cpp cannot parse; nothing is included then.
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Folder folder;
  std::string text(reinterpret_cast<const char*>(data), size);
  if (!includes_stay_inside(text)) return -1;  // -1: not added to the corpus
  {
    std::ofstream out(folder.config, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) fail("cannot write the temporary config");
  }

  std::vector<proxy::ConfigError> errors;
  auto config = proxy::load_config(folder.config.string(), errors);

  // "On any error returns nullopt with all errors": `hajib check` and a SIGHUP reload rely on a
  // refused file explaining itself, and on an accepted one having nothing to explain.
  if (config && !errors.empty()) fail("a config was returned together with errors");
  if (!config && errors.empty()) fail("the config was refused without an error");
  for (const auto& e : errors)
    if (e.message.empty()) fail("an error without a message");
  if (config) {
    if (config->upstreams.empty()) fail("an accepted config without upstreams");
    if (!config->policy) fail("an accepted config without a policy table");
    for (const auto& [name, account] : config->accounts)
      if (!account || account->name != name || name.size() > 15) fail("account table inconsistent");
  }
  return 0;
}
