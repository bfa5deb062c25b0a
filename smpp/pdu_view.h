// submit_sm, deliver_sm and their responses read in place: every field views the PDU's own bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "smpp/codec.h"
#include "smpp/pdu.h"

namespace smpp {

// The body of a submit_sm or deliver_sm, fields from smpp/pdu.def. Valid as long as the PDU's bytes.
struct ShortMessageView {
#define SHORT_MESSAGE_FIELD(name, kind, max_with_nul, max_with_nul_in_deliver_sm) field::kind::view name{};
#include "smpp/pdu.def"
  // The TLVs as they came, checked well formed by read_short_message (forwarding needs them raw).
  std::string_view optional_part;

  // The value of the first TLV with this tag, without allocating.
  std::optional<std::string_view> find(uint16_t tag) const;
  bool is_delivery_receipt() const { return is_delivery_receipt_class(esm_class); }
};

// Walks the TLVs of an optional part in order; stops at the end or at the first malformed one.
class TlvReader {
 public:
  explicit TlvReader(std::string_view optional_part) : rest_(optional_part) {}
  bool next(uint16_t& tag, std::string_view& value);

 private:
  std::string_view rest_;
};

// Each reader takes one whole PDU (as the Framer hands it out), never reads outside it and never
// allocates unless it fails (then error.reason may). They accept, refuse and answer exactly as the
// libsmpp34 decoders did (smpp/oracle.h), which pdu-diff-fuzz checks.
bool read_short_message(std::string_view pdu, ShortMessageView& out, DecodeError& error);  // submit_sm, deliver_sm
// submit_sm_resp, deliver_sm_resp, data_sm_resp: the message_id, empty when there is no body.
bool read_message_id_resp(std::string_view pdu, std::string_view& message_id, DecodeError& error);

// Copies a view into a ShortMessage, reusing `out`'s strings and TLV vector.
void to_owned(const ShortMessageView& in, ShortMessage& out);
ShortMessage to_owned(const ShortMessageView& in);

// Writes a view back out (forwarding without owning): the TLVs are copied as they came.
void encode_short_message(std::string& out, Command kind, uint32_t sequence, const ShortMessageView& sm);

}  // namespace smpp
