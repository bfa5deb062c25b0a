// The libsmpp34 decoders and encoders the relay path used before smpp/pdu_view.h, kept as the
// reference that the unit tests and pdu-diff-fuzz hold the new reader and writers to. Not for the proxy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "smpp/codec.h"
#include "smpp/pdu.h"

namespace smpp::oracle {

// The mandatory part through libsmpp34 (from a NUL-guarded copy), the TLVs split by hand.
bool decode_short_message(std::string_view pdu, ShortMessage& out, DecodeError& error);
// Was already read by hand (libsmpp34 cost 2 µs for one C-string); kept as it was.
bool decode_message_id_resp(std::string_view pdu, std::string& message_id, DecodeError& error);

// libsmpp34's packing. Each returns false where libsmpp34 refuses the fields (the proxy used to
// abort there): a TON, NPI or status it does not know, a short_message of 254 octets.
bool encode_short_message(std::string& out, Command kind, uint32_t sequence, const ShortMessage& sm);
// Packs submit_sm_resp_t, deliver_sm_resp_t or data_sm_resp_t as they are: deliver_sm_resp's
// message_id is cut to nothing, data_sm_resp keeps its body on errors (the writer does neither).
bool encode_message_id_resp(std::string& out, Command kind, uint32_t sequence, uint32_t status,
                            std::string_view message_id);
bool encode_header_only(std::string& out, Command kind, uint32_t sequence, uint32_t status = 0);

}  // namespace smpp::oracle
