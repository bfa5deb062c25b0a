// The zero-copy reader of submit_sm, deliver_sm and their responses, generated from smpp/pdu.def.
//
// It accepts, refuses and answers exactly as the libsmpp34 decoders before it (smpp/oracle.h; the
// pdu-diff-fuzz target holds it to that), quirks included: peers live with those answers. The
// order of the checks is what picks the status, as it did there:
//   1. the body does not scan (a C-string without its NUL or over its maximum, short_message
//      beyond the PDU)                                  ESME_RINVCMDLEN
//   2. sm_length above 254                              ESME_RINVMSGLEN
//   3. a value libsmpp34 refused in a body that scans   ESME_RINVCMDLEN
//   4. the TLVs after it                                ESME_RINVOPTPARSTREAM, ESME_RINVPARLEN
#include <array>
#include <initializer_list>

#include "smpp/cursor.h"
#include "smpp/pdu_view.h"
#include "smpp/protocol.h"

namespace smpp {
namespace {

const uint8_t* bytes(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

bool fail(DecodeError& error, uint32_t status, std::string reason) {
  error.status = status;
  error.reason = std::move(reason);
  return false;
}

bool is_one_of(std::string_view pdu, std::initializer_list<Command> kinds) {
  if (pdu.size() < kHeaderSize) return false;
  uint32_t id = read_header(bytes(pdu)).command_id;
  for (Command k : kinds)
    if (id == uint32_t(k)) return true;
  return false;
}

// The values libsmpp34's decoder knows (its def_list/*.list); it refused any other, with the
// message reported as ESME_RINVCMDLEN. SMPP 3.4 calls them reserved rather than malformed, and a
// bad TON deserves ESME_RINVSRCTON/ESME_RINVDSTTON; the old answers are kept all the same.
constexpr std::array<bool, 256> set_of(std::initializer_list<uint8_t> values) {
  std::array<bool, 256> set{};
  for (uint8_t v : values) set[v] = true;
  return set;
}
constexpr auto kLibsmpp34Tons = set_of({0, 1, 2, 3, 4, 5, 6});
constexpr auto kLibsmpp34Npis = set_of({0, 1, 3, 4, 6, 8, 9, 10, 14, 18});
// Every command_status it names lies below 0x100. A request's status should be 0 (SMPP 3.4 section
// 3.2), but libsmpp34 took any status it had a name for.
constexpr auto kLibsmpp34Statuses = set_of({
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x11,
    0x13, 0x14, 0x15, 0x33, 0x34, 0x40, 0x42, 0x43, 0x44, 0x45, 0x48, 0x49, 0x50, 0x51, 0x53, 0x54,
    0x55, 0x58, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xFE, 0xFF,
});

// 1. Scanning: one field at the cursor, by kind. The sm_length prefix is not held to 254 here.
bool scan(field::cstring, Cursor& c, std::string_view& out, size_t max_with_nul) { return c.cstring(max_with_nul, out); }
bool scan(field::u8, Cursor& c, uint8_t& out, size_t) { return c.u8(out); }
bool scan(field::octets, Cursor& c, std::string_view& out, size_t) {
  uint8_t length = 0;
  return c.u8(length) && c.bytes(length, out);
}

// 2. The octet string's own maximum, checked only once the whole body has scanned.
bool within_max(field::octets, std::string_view value, size_t max) { return value.size() <= max; }
template <typename Kind, typename Value>
bool within_max(Kind, const Value&, size_t) { return true; }

// 3. What libsmpp34 refused in a body that scans; `limit` is this command's (deliver_sm's times).
const char* libsmpp34_refusal(field::cstring, std::string_view value, size_t limit) {
  return value.size() + 1 > limit ? "is not empty (libsmpp34 takes no times in a deliver_sm)" : nullptr;
}
const char* libsmpp34_refusal(field::ton, uint8_t value, size_t) {
  return kLibsmpp34Tons[value] ? nullptr : "is a TON libsmpp34 does not know";
}
const char* libsmpp34_refusal(field::npi, uint8_t value, size_t) {
  return kLibsmpp34Npis[value] ? nullptr : "is an NPI libsmpp34 does not know";
}
template <typename Kind, typename Value>
const char* libsmpp34_refusal(Kind, const Value&, size_t) {
  return nullptr;
}

// One TLV off the front of `rest` (SMPP 3.4 section 3.2.1.5): ESME_ROK, or what its malformation earns.
uint32_t take_tlv(std::string_view& rest, uint16_t& tag, std::string_view& value) {
  if (rest.size() < 4) return status::ESME_RINVOPTPARSTREAM;
  tag = load_be16(bytes(rest));
  uint16_t length = load_be16(bytes(rest) + 2);
  if (rest.size() - 4 < length) return status::ESME_RINVPARLEN;
  value = rest.substr(4, length);
  rest.remove_prefix(4 + size_t(length));
  return status::ESME_ROK;
}

// 4. The TLVs, each whole and inside the PDU.
bool check_optional_part(std::string_view rest, DecodeError& error) {
  uint16_t tag;
  std::string_view value;
  while (!rest.empty()) {
    uint32_t st = take_tlv(rest, tag, value);
    if (st == status::ESME_RINVOPTPARSTREAM) return fail(error, st, "truncated TLV header");
    if (st != status::ESME_ROK) return fail(error, st, "TLV length beyond the PDU");
  }
  return true;
}

// What libsmpp34 refused in the header, once the body had scanned: nullptr if nothing.
const char* libsmpp34_header_refusal(const Header& h) {
  if (h.status > 0xFF || !kLibsmpp34Statuses[h.status]) return "command_status is one libsmpp34 does not know";
  if (h.sequence == 0) return "sequence_number is 0";
  return nullptr;
}

void assign(std::string& out, std::string_view in) { out.assign(in); }
void assign(uint8_t& out, uint8_t in) { out = in; }

}  // namespace

bool TlvReader::next(uint16_t& tag, std::string_view& value) {
  return !rest_.empty() && take_tlv(rest_, tag, value) == status::ESME_ROK;
}

std::optional<std::string_view> ShortMessageView::find(uint16_t wanted) const {
  TlvReader tlvs(optional_part);
  uint16_t tag;
  std::string_view value;
  while (tlvs.next(tag, value))
    if (tag == wanted) return value;
  return std::nullopt;
}

bool read_short_message(std::string_view pdu, ShortMessageView& out, DecodeError& error) {
  if (!is_one_of(pdu, {Command::submit_sm, Command::deliver_sm})) return fail(error, status::ESME_RINVCMDID, "not a submit_sm or deliver_sm");
  const Header header = read_header(bytes(pdu));
  const bool deliver = header.command_id == uint32_t(Command::deliver_sm);
  Cursor c(bytes(pdu) + kHeaderSize, bytes(pdu) + pdu.size());
  bool scanned = true;
#define SHORT_MESSAGE_FIELD(name, kind, max_with_nul, max_with_nul_in_deliver_sm) \
  scanned = scanned && scan(field::kind{}, c, out.name, max_with_nul);
#include "smpp/pdu.def"
  if (!scanned) return fail(error, status::ESME_RINVCMDLEN, "message body truncated or a field too long");
#define SHORT_MESSAGE_FIELD(name, kind, max_with_nul, max_with_nul_in_deliver_sm) \
  if (!within_max(field::kind{}, out.name, max_with_nul))                        \
    return fail(error, status::ESME_RINVMSGLEN, #name " longer than " #max_with_nul " octets");
#include "smpp/pdu.def"
  if (const char* why = libsmpp34_header_refusal(header)) return fail(error, status::ESME_RINVCMDLEN, why);
#define SHORT_MESSAGE_FIELD(name, kind, max_with_nul, max_with_nul_in_deliver_sm)                         \
  if (const char* why = libsmpp34_refusal(field::kind{}, out.name,                                       \
                                          deliver ? max_with_nul_in_deliver_sm : max_with_nul))          \
    return fail(error, status::ESME_RINVCMDLEN, std::string(#name " ") + why);
#include "smpp/pdu.def"
  out.optional_part = std::string_view(reinterpret_cast<const char*>(c.pos()), size_t(c.end() - c.pos()));
  return check_optional_part(out.optional_part, error);
}

bool read_message_id_resp(std::string_view pdu, std::string_view& message_id, DecodeError& error) {
  message_id = {};
  if (!is_one_of(pdu, {Command::submit_sm_resp, Command::deliver_sm_resp, Command::data_sm_resp}))
    return fail(error, status::ESME_RINVCMDID, "not a message response");
  if (pdu.size() == kHeaderSize) return true;  // no body: allowed on error statuses
  Cursor c(bytes(pdu) + kHeaderSize, bytes(pdu) + pdu.size());
  // Whatever follows the message_id (data_sm_resp's TLVs) is not read, as before.
#define MESSAGE_ID_RESP_FIELD(name, kind, max_with_nul) \
  if (!scan(field::kind{}, c, name, max_with_nul)) return fail(error, status::ESME_RINVCMDLEN, #name " truncated or too long");
#include "smpp/pdu.def"
  return true;
}

void to_owned(const ShortMessageView& in, ShortMessage& out) {
#define SHORT_MESSAGE_FIELD(name, kind, max_with_nul, max_with_nul_in_deliver_sm) assign(out.name, in.name);
#include "smpp/pdu.def"
  // Reuses the TLV strings already there: a session decodes into the same ShortMessage again and again.
  TlvReader tlvs(in.optional_part);
  uint16_t tag;
  std::string_view value;
  size_t n = 0;
  for (; tlvs.next(tag, value); ++n) {
    if (n == out.tlvs.size()) out.tlvs.emplace_back();
    out.tlvs[n].tag = tag;
    out.tlvs[n].value.assign(value);
  }
  out.tlvs.resize(n);
}

ShortMessage to_owned(const ShortMessageView& in) {
  ShortMessage out;
  to_owned(in, out);
  return out;
}

bool decode_short_message(std::string_view pdu, ShortMessage& out, DecodeError& error) {
  ShortMessageView view;
  if (!read_short_message(pdu, view, error)) return false;
  to_owned(view, out);
  return true;
}

bool decode_message_id_resp(std::string_view pdu, std::string& message_id, DecodeError& error) {
  std::string_view id;
  bool ok = read_message_id_resp(pdu, id, error);
  message_id.assign(id);
  return ok;
}

}  // namespace smpp
