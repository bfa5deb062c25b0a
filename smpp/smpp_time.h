// SMPP 3.4 time fields (section 7.1.1): absolute and relative validity_period / schedule_delivery_time.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace smpp {

// The instant (Unix seconds) a time field names, `now` being the moment it was received. Empty
// for an empty field (the SMSC default) or one that is not in the 16-character format.
std::optional<int64_t> smpp_time_to_unix(std::string_view field, int64_t now);

}  // namespace smpp
