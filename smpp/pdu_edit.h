// Edits of encoded PDUs that forwarding needs, without a decode/encode round trip.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace smpp {

struct ShortMessageView;

// Copies a submit_sm, replacing dest_addr_ton, dest_addr_npi and destination_addr; every other
// byte is the customer's. `sm` is what read_short_message made of `pdu`: the field is found where
// the reader (generated from pdu.def) found it, not by walking the body a second time. Returns
// false if `sm` does not view `pdu` or the new destination is longer than the field allows.
bool rewrite_destination(std::string_view pdu, const ShortMessageView& sm, uint8_t ton, uint8_t npi,
                         std::string_view destination, std::string& out);

}  // namespace smpp
