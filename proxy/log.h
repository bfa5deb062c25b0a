// Peer-chosen text in log lines: JSON-quoted by the JSON library, so that no byte a peer sends can forge a line.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

namespace proxy {

// `s` as a JSON string literal, quotes included: newlines and control characters escaped, bytes
// that are not UTF-8 replaced by U+FFFD. For every string a peer chose (system_id, addresses,
// message ids, decode errors) that goes into a log line.
std::string json_quoted(std::string_view s);

// `j` on one line; bytes that are not UTF-8 become U+FFFD instead of throwing.
std::string dump_json(const nlohmann::ordered_json& j);

}  // namespace proxy
