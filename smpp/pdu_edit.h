// Edits of encoded PDUs that forwarding needs, without a decode/encode round trip.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace smpp {

// Copies a submit_sm, replacing dest_addr_ton, dest_addr_npi and destination_addr; every other
// byte is the customer's. Returns false if the body is malformed (it was decoded before, so
// this only guards against misuse).
bool rewrite_destination(std::string_view pdu, uint8_t ton, uint8_t npi, std::string_view destination,
                         std::string& out);

}  // namespace smpp
