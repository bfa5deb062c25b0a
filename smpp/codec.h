// Decodes PDU bytes into smpp/pdu.h types and encodes them back: binds through libsmpp34 (codec.cc),
// the relay path's PDUs directly (pdu_reader.cc, pdu_writer.cc; in place: smpp/pdu_view.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "smpp/pdu.h"

namespace smpp {

// Why a PDU could not be decoded, with the status to answer it with.
struct DecodeError {
  uint32_t status = status::ESME_RINVCMDLEN;
  std::string reason;
};

// Each decoder takes exactly one whole PDU (as the Framer hands it out) and never reads
// outside it. They return false and fill `error` on any malformed input.
bool decode_bind(std::string_view pdu, Bind& out, DecodeError& error);
bool decode_bind_resp(std::string_view pdu, BindResp& out, DecodeError& error);
// submit_sm, deliver_sm: read_short_message (smpp/pdu_view.h), then copied into `out`.
bool decode_short_message(std::string_view pdu, ShortMessage& out, DecodeError& error);
// submit_sm_resp / deliver_sm_resp / data_sm_resp: the message_id, empty when there is no body.
bool decode_message_id_resp(std::string_view pdu, std::string& message_id, DecodeError& error);

// Encoders append one PDU to `out` (batched writes share one buffer).
void encode_bind(std::string& out, uint32_t sequence, const Bind& bind);
void encode_bind_resp(std::string& out, Command bind_kind, uint32_t sequence, uint32_t status,
                      const BindResp& resp);
void encode_short_message(std::string& out, Command kind, uint32_t sequence, const ShortMessage& sm);
// submit_sm_resp / deliver_sm_resp / data_sm_resp: no body on error statuses (SMPP 3.4 section
// 4.4.2) but for deliver_sm_resp's; message_id ends at a NUL and is cut to 64 octets.
void encode_message_id_resp(std::string& out, Command kind, uint32_t sequence, uint32_t status,
                            std::string_view message_id);
// enquire_link(_resp), unbind(_resp), generic_nack: a header and nothing else.
void encode_header_only(std::string& out, Command kind, uint32_t sequence, uint32_t status = 0);

// Response id for a request id (submit_sm -> submit_sm_resp).
inline Command response_to(uint32_t request_id) { return Command(request_id | kResponseBit); }

}  // namespace smpp
