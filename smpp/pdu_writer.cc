// The direct writers of the relay path's PDUs, generated from smpp/pdu.def; byte for byte what the
// libsmpp34 packing before them wrote (smpp/oracle.h; unit tests and pdu-diff-fuzz compare).
#include <algorithm>
#include <cstring>

#include "smpp/pdu_view.h"
#include "smpp/protocol.h"

namespace smpp {
namespace {

// Each field is laid out at `p` in a buffer on the stack sized from pdu.def, so that a PDU costs
// the output string one append for its mandatory part.

// A C-octet string ends at its first NUL and is cut to fit, as libsmpp34 packed it (it took the
// value with strlen, after our copy into its fixed-size field).
void put(field::cstring, char*& p, std::string_view value, size_t max_with_nul) {
  size_t n = std::min(value.size(), max_with_nul - 1);
  if (n) {  // an empty view may have no data at all
    if (const void* nul = std::memchr(value.data(), 0, n)) n = size_t(static_cast<const char*>(nul) - value.data());
    std::memcpy(p, value.data(), n);
  }
  p += n;
  *p++ = '\0';
}
void put(field::u8, char*& p, uint8_t value, size_t) { *p++ = char(value); }
// Cut to 254 octets. libsmpp34 aborted the proxy on exactly 254 (its packer wants fewer than its
// buffer of 254, its unpacker takes 254): SMPP 3.4 allows 254, so this writes them.
void put(field::octets, char*& p, std::string_view value, size_t max) {
  size_t n = std::min(value.size(), max);
  *p++ = char(uint8_t(n));
  if (n) std::memcpy(p, value.data(), n);
  p += n;
}

// The largest mandatory parts pdu.def allows.
constexpr size_t kMaxShortMessage = kHeaderSize
#define SHORT_MESSAGE_FIELD(name, kind, max_with_nul, max_with_nul_in_deliver_sm) +max_with_nul
#include "smpp/pdu.def"
    + 1;  // sm_length
constexpr size_t kMaxMessageIdResp = kHeaderSize
#define MESSAGE_ID_RESP_FIELD(name, kind, max_with_nul) +max_with_nul
#include "smpp/pdu.def"
    ;

// Appends the mandatory part from `buf` to `p`, with the header that says `optional` more follow.
void append_pdu(std::string& out, char* buf, const char* p, size_t optional, Command command, uint32_t status,
                uint32_t sequence) {
  size_t mandatory = size_t(p - buf);
  write_header(reinterpret_cast<uint8_t*>(buf), Header{uint32_t(mandatory + optional), uint32_t(command), status, sequence});
  if (optional) out.reserve(out.size() + mandatory + optional);  // one growth at most for the whole PDU
  out.append(buf, mandatory);
}

// The optional part: TLVs we own (each length cut to 16 bits as before, though no caller comes
// near), or those of a view, forwarded as they came.
size_t optional_size(const ShortMessage& sm) {
  size_t n = 0;
  for (const Tlv& tlv : sm.tlvs) n += 4 + tlv.value.size();
  return n;
}
size_t optional_size(const ShortMessageView& sm) { return sm.optional_part.size(); }

void append_optional(std::string& out, const ShortMessage& sm) {
  for (const Tlv& tlv : sm.tlvs) {
    uint8_t head[4];
    store_be16(head, tlv.tag);
    store_be16(head + 2, uint16_t(tlv.value.size()));
    out.append(reinterpret_cast<const char*>(head), 4);
    out.append(tlv.value);
  }
}
void append_optional(std::string& out, const ShortMessageView& sm) { out.append(sm.optional_part); }

template <typename Message>
void write_short_message(std::string& out, Command command, uint32_t sequence, const Message& sm) {
  const bool deliver = command == Command::deliver_sm;
  char buf[kMaxShortMessage];
  char* p = buf + kHeaderSize;
#define SHORT_MESSAGE_FIELD(name, kind, max_with_nul, max_with_nul_in_deliver_sm) \
  put(field::kind{}, p, sm.name, deliver ? max_with_nul_in_deliver_sm : max_with_nul);
#include "smpp/pdu.def"
  append_pdu(out, buf, p, optional_size(sm), command, status::ESME_ROK, sequence);
  append_optional(out, sm);
}

}  // namespace

void encode_short_message(std::string& out, Command kind, uint32_t sequence, const ShortMessage& sm) {
  write_short_message(out, kind, sequence, sm);
}

void encode_short_message(std::string& out, Command kind, uint32_t sequence, const ShortMessageView& sm) {
  write_short_message(out, kind, sequence, sm);
}

void encode_message_id_resp(std::string& out, Command kind, uint32_t sequence, uint32_t status,
                            std::string_view message_id) {
  char buf[kMaxMessageIdResp];
  char* p = buf + kHeaderSize;
  // deliver_sm_resp always has its (empty) message_id; the others none on an error (SMPP 3.4 4.4.2).
  if (status == status::ESME_ROK || kind == Command::deliver_sm_resp) {
#define MESSAGE_ID_RESP_FIELD(name, kind, max_with_nul) put(field::kind{}, p, name, max_with_nul);
#include "smpp/pdu.def"
  }
  append_pdu(out, buf, p, 0, kind, status, sequence);
}

void encode_header_only(std::string& out, Command kind, uint32_t sequence, uint32_t status) {
  char buf[kHeaderSize];
  append_pdu(out, buf, buf + kHeaderSize, 0, kind, status, sequence);
}

}  // namespace smpp
