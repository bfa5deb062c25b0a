// Test helper: one YAML file (a `policy:` section and/or `accounts:`) into policy::Compiler, the
// way the config loader feeds it. Shared by policy_cases_test.cc and policy_check_test.cc.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policy/table.h"

namespace policy_fixture {

struct Loaded {
  std::shared_ptr<const policy::Table> table;  // nullptr when there were compile errors
  std::vector<policy::Diagnostic> diagnostics;  // ours (YAML syntax, unknown account keys) + the compiler's
  std::string report() const {
    std::string out;
    for (const auto& d : diagnostics) out += d.to_string() + "\n";
    return out;
  }
};

// Account keys that belong to the proxy (bind settings), not to the policy: see proxy/config.cc.
inline bool is_proxy_account_key(std::string_view key) {
  static constexpr std::string_view kKeys[] = {"password_hash", "allow_ips", "max_binds", "window", "mo_numbers"};
  return std::find(std::begin(kKeys), std::end(kKeys), key) != std::end(kKeys);
}

inline policy::Diagnostic diagnostic_at(const std::string& file, const YAML::Mark& m, std::string message) {
  return policy::Diagnostic{file, m.line + 1, m.column + 1, std::move(message)};
}

inline Loaded load_policy_file(const std::string& path) {
  Loaded out;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::ParserException& e) {  // syntax errors carry their mark
    out.diagnostics.push_back(diagnostic_at(path, e.mark, e.msg));
    return out;
  } catch (const YAML::BadFile&) {
    out.diagnostics.push_back(policy::Diagnostic{path, 0, 0, "cannot read the file"});
    return out;
  }
  policy::Compiler compiler;
  if (YAML::Node rules = root["policy"]) compiler.add_rules(rules, path);
  if (YAML::Node accounts = root["accounts"]) {
    if (!accounts.IsMap()) {
      out.diagnostics.push_back(diagnostic_at(path, accounts.Mark(), "accounts must be a mapping"));
    } else {
      for (const auto& kv : accounts) {
        std::string name = kv.first.as<std::string>("");
        const YAML::Node& account = kv.second;
        // The config loader reports a key that is neither the proxy's nor the compiler's.
        if (account.IsMap())
          for (const auto& key : account) {
            std::string k = key.first.as<std::string>("");
            if (!is_proxy_account_key(k) && !policy::Compiler::is_account_key(k))
              out.diagnostics.push_back(
                  diagnostic_at(path, key.first.Mark(), "unknown key '" + k + "' in account " + name));
          }
        compiler.add_account(name, account, path);
      }
    }
  }
  out.table = compiler.finish();
  const auto& compiled = compiler.diagnostics();
  out.diagnostics.insert(out.diagnostics.end(), compiled.begin(), compiled.end());
  return out;
}

}  // namespace policy_fixture
