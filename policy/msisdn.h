// Saudi mobile numbers: the accepted input forms and their international form 9665XXXXXXXX.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace policy {

// 05XXXXXXXX, 5XXXXXXXX, +9665XXXXXXXX, 009665XXXXXXXX and 9665XXXXXXXX -> 9665XXXXXXXX.
// Anything else (other lengths, other countries, letters, spaces) is not a valid recipient.
std::optional<std::string> normalize_msisdn(std::string_view input);

// Whether normalize_msisdn() accepts `input`, without building the number.
bool is_saudi_mobile(std::string_view input);

}  // namespace policy
