// JSON escaping for log and audit lines, by nlohmann-json rather than by hand.
#include "proxy/log.h"

#include <nlohmann/json.hpp>

namespace proxy {

namespace {
// A peer may send any byte: replace what is not UTF-8 rather than throw on the data path.
constexpr auto kInvalidUtf8 = nlohmann::ordered_json::error_handler_t::replace;
}  // namespace

std::string json_quoted(std::string_view s) { return nlohmann::ordered_json(std::string(s)).dump(-1, ' ', false, kInvalidUtf8); }

std::string dump_json(const nlohmann::ordered_json& j) { return j.dump(-1, ' ', false, kInvalidUtf8); }

}  // namespace proxy
