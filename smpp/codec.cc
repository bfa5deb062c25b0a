// The one place that talks to libsmpp34: binds and bind responses, and the oracle (smpp/oracle.h)
// that the relay path's own reader and writers (pdu_reader.cc, pdu_writer.cc) are checked against.
//
// libsmpp34 reads C-octet strings with strlen before checking the remaining length, keeps its
// error state in globals and mallocs every TLV. So: a bounded scan of our own first finds where
// the mandatory part ends; libsmpp34 then decodes only that part, from a copy that ends in a
// NUL guard; the TLVs are split by us and kept as raw bytes, which is also what forwarding needs.
#include "smpp/codec.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "smpp/cursor.h"
#include "smpp/oracle.h"
#include "smpp/protocol.h"

namespace smpp {
namespace {
// libsmpp34 #defines the status names as macros, so ours are taken before its headers.
constexpr uint32_t kBadCommandLength = status::ESME_RINVCMDLEN;
constexpr uint32_t kBadMessageLength = status::ESME_RINVMSGLEN;
constexpr uint32_t kBadOptionalStream = status::ESME_RINVOPTPARSTREAM;
constexpr uint32_t kBadParameterLength = status::ESME_RINVPARLEN;
constexpr uint32_t kBadSystemId = status::ESME_RINVSYSID;
constexpr uint32_t kBadCommandId = status::ESME_RINVCMDID;
constexpr uint32_t kBadPassword = status::ESME_RINVPASWD;
}  // namespace
}  // namespace smpp

extern "C" {
#include <libsmpp34/smpp34.h>
#include <libsmpp34/smpp34_structs.h>
#include <libsmpp34/smpp34_params.h>
}

namespace smpp {

const Tlv* ShortMessage::find(uint16_t t) const {
  for (const Tlv& tlv : tlvs)
    if (tlv.tag == t) return &tlv;
  return nullptr;
}

void ShortMessage::set(uint16_t t, std::string value) {
  for (Tlv& tlv : tlvs)
    if (tlv.tag == t) {
      tlv.value = std::move(value);
      return;
    }
  tlvs.push_back(Tlv{t, std::move(value)});
}

namespace {

const uint8_t* bytes(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// Largest mandatory part of any PDU we hand to libsmpp34 (submit_sm: 16 + 6+2+21+2+21+3+17+17+5+254).
constexpr size_t kMaxMandatory = 512;

// A copy of the first `length` bytes of a PDU, with command_length patched to match and a NUL
// guard after it, so that libsmpp34 can neither read past the PDU nor see its TLVs.
class GuardedCopy {
 public:
  bool assign(std::string_view pdu, size_t length) {
    if (length > kMaxMandatory || length < kHeaderSize || length > pdu.size()) return false;
    std::memcpy(buf_.data(), pdu.data(), length);
    store_be32(buf_.data(), uint32_t(length));
    buf_[length] = 0;
    len_ = int(length);
    return true;
  }
  uint8_t* data() { return buf_.data(); }
  int size() const { return len_; }

 private:
  std::array<uint8_t, kMaxMandatory + 1> buf_{};
  int len_ = 0;
};

bool fail(DecodeError& error, uint32_t status, std::string reason) {
  error.status = status;
  error.reason = std::move(reason);
  return false;
}

bool unpack(void* target, GuardedCopy& copy, DecodeError& error) {
  if (smpp34_unpack2(target, copy.data(), copy.size()) != 0)
    return fail(error, kBadCommandLength, std::string("libsmpp34: ") + smpp34_strerror);
  return true;
}

std::string cstr(const uint8_t* field) { return std::string(reinterpret_cast<const char*>(field)); }

template <size_t N>
void copy_cstr(uint8_t (&dst)[N], std::string_view src) {
  size_t n = std::min(src.size(), N - 1);
  if (n) std::memcpy(dst, src.data(), n);  // an empty view may have no data at all
  dst[n] = 0;
}

// Splits the optional part into raw TLVs (SMPP 3.4 section 3.2.1.5).
bool split_tlvs(const uint8_t* p, const uint8_t* end, std::vector<Tlv>& out, DecodeError& error) {
  out.clear();
  while (p < end) {
    if (end - p < 4) return fail(error, kBadOptionalStream, "truncated TLV header");
    uint16_t tag = load_be16(p), length = load_be16(p + 2);
    p += 4;
    if (end - p < length) return fail(error, kBadParameterLength, "TLV length beyond the PDU");
    out.push_back(Tlv{tag, std::string(reinterpret_cast<const char*>(p), length)});
    p += length;
  }
  return true;
}

void append_tlvs(std::string& out, const std::vector<Tlv>& tlvs) {
  for (const Tlv& tlv : tlvs) {
    uint8_t head[4];
    store_be16(head, tlv.tag);
    store_be16(head + 2, uint16_t(tlv.value.size()));
    out.append(reinterpret_cast<const char*>(head), 4);
    out.append(tlv.value);
  }
}

void patch_length(std::string& out, size_t start) {
  store_be32(reinterpret_cast<uint8_t*>(out.data() + start), uint32_t(out.size() - start));
}

template <typename T>
bool try_pack(std::string& out, T& pdu) {
  std::array<uint8_t, kMaxMandatory + 64> buf;
  int len = 0;
  // libsmpp34 refuses sequence numbers outside 1..0x7FFFFFFF, but a response echoes whatever the
  // peer sent (a bind with sequence 0 must get its answer, not abort the proxy): pack with 1 and
  // write the real one into the header afterwards.
  uint32_t sequence = pdu.sequence_number;
  pdu.sequence_number = 1;
  if (smpp34_pack2(buf.data(), int(buf.size()), &len, &pdu) != 0 || len < int(kHeaderSize)) return false;
  patch_sequence(buf.data(), sequence);
  out.append(reinterpret_cast<const char*>(buf.data()), size_t(len));
  return true;
}

template <typename T>
void pack_into(std::string& out, T& pdu) {
  // Only reachable with fields we filled ourselves beyond their limits: a programming error.
  if (try_pack(out, pdu)) return;
  std::fprintf(stderr, "hajib: libsmpp34 pack failed: %s\n", smpp34_strerror);
  std::abort();
}

template <typename T>
bool unpack_short_message(GuardedCopy& copy, ShortMessage& out, DecodeError& error) {
  T m{};
  bool ok = unpack(&m, copy, error);
  destroy_tlv(m.tlv);  // libsmpp34 may have allocated some before it failed
  if (!ok) return false;
  out.service_type = cstr(m.service_type);
  out.source_addr_ton = m.source_addr_ton;
  out.source_addr_npi = m.source_addr_npi;
  out.source_addr = cstr(m.source_addr);
  out.dest_addr_ton = m.dest_addr_ton;
  out.dest_addr_npi = m.dest_addr_npi;
  out.destination_addr = cstr(m.destination_addr);
  out.esm_class = m.esm_class;
  out.protocol_id = m.protocol_id;
  out.priority_flag = m.priority_flag;
  out.schedule_delivery_time = cstr(m.schedule_delivery_time);
  out.validity_period = cstr(m.validity_period);
  out.registered_delivery = m.registered_delivery;
  out.replace_if_present_flag = m.replace_if_present_flag;
  out.data_coding = m.data_coding;
  out.sm_default_msg_id = m.sm_default_msg_id;
  out.short_message.assign(reinterpret_cast<const char*>(m.short_message), m.sm_length);
  return true;
}

template <typename T>
bool pack_short_message(std::string& out, Command kind, uint32_t sequence, const ShortMessage& sm) {
  T m{};
  m.command_id = uint32_t(kind);
  m.sequence_number = sequence;
  copy_cstr(m.service_type, sm.service_type);
  m.source_addr_ton = sm.source_addr_ton;
  m.source_addr_npi = sm.source_addr_npi;
  copy_cstr(m.source_addr, sm.source_addr);
  m.dest_addr_ton = sm.dest_addr_ton;
  m.dest_addr_npi = sm.dest_addr_npi;
  copy_cstr(m.destination_addr, sm.destination_addr);
  m.esm_class = sm.esm_class;
  m.protocol_id = sm.protocol_id;
  m.priority_flag = sm.priority_flag;
  copy_cstr(m.schedule_delivery_time, sm.schedule_delivery_time);
  copy_cstr(m.validity_period, sm.validity_period);
  m.registered_delivery = sm.registered_delivery;
  m.replace_if_present_flag = sm.replace_if_present_flag;
  m.data_coding = sm.data_coding;
  m.sm_default_msg_id = sm.sm_default_msg_id;
  m.sm_length = uint8_t(std::min<size_t>(sm.short_message.size(), sizeof m.short_message));
  std::memcpy(m.short_message, sm.short_message.data(), m.sm_length);
  return try_pack(out, m);
}

}  // namespace

namespace {
// libsmpp34 unpacks by the command id in the bytes, into whatever struct it is given: each
// decoder makes sure the two agree before anything else.
bool is_one_of(std::string_view pdu, std::initializer_list<Command> kinds) {
  if (pdu.size() < kHeaderSize) return false;
  uint32_t id = read_header(bytes(pdu)).command_id;
  for (Command k : kinds)
    if (id == uint32_t(k)) return true;
  return false;
}
}  // namespace

bool decode_bind(std::string_view pdu, Bind& out, DecodeError& error) {
  if (!is_one_of(pdu, {Command::bind_transmitter, Command::bind_receiver, Command::bind_transceiver}))
    return fail(error, kBadCommandId, "not a bind");
  const uint8_t* start = bytes(pdu);
  Cursor c(start + kHeaderSize, start + pdu.size());
  // An over-long system_id or password is answered as a wrong one, which is what it is.
  if (!c.cstring(16)) return fail(error, kBadSystemId, "system_id missing or longer than 15 characters");
  if (!c.cstring(9)) return fail(error, kBadPassword, "password missing or longer than 8 characters");
  c.cstring(13);
  size_t version_at = size_t(c.pos() - start);
  c.skip(3) && c.cstring(41);
  if (!c.ok()) return fail(error, kBadCommandLength, "bind body truncated or a field too long");
  GuardedCopy copy;
  if (!copy.assign(pdu, size_t(c.pos() - start))) return fail(error, kBadCommandLength, "bind body too long");
  // libsmpp34 refuses interface versions other than 3.4; later ones are served as 3.4 anyway.
  uint8_t announced = start[version_at];
  copy.data()[version_at] = kInterfaceVersion;
  bind_transceiver_t b{};  // the three bind requests share one layout
  if (!unpack(&b, copy, error)) return false;
  out.kind = Command(read_header(start).command_id);
  out.system_id = cstr(b.system_id);
  out.password = cstr(b.password);
  out.system_type = cstr(b.system_type);
  out.interface_version = announced;
  out.addr_ton = b.addr_ton;
  out.addr_npi = b.addr_npi;
  out.address_range = cstr(b.address_range);
  return true;
}

bool decode_bind_resp(std::string_view pdu, BindResp& out, DecodeError& error) {
  if (!is_one_of(pdu, {Command::bind_transmitter_resp, Command::bind_receiver_resp, Command::bind_transceiver_resp}))
    return fail(error, kBadCommandId, "not a bind response");
  const uint8_t* start = bytes(pdu);
  out = BindResp{};
  if (pdu.size() == kHeaderSize) return true;  // error responses may carry no body
  Cursor c(start + kHeaderSize, start + pdu.size());
  if (!c.cstring(16)) return fail(error, kBadCommandLength, "bind_resp system_id truncated or too long");
  GuardedCopy copy;
  if (!copy.assign(pdu, size_t(c.pos() - start))) return fail(error, kBadCommandLength, "bind_resp too long");
  bind_transceiver_resp_t r{};
  bool ok = unpack(&r, copy, error);
  destroy_tlv(r.tlv);
  if (!ok) return false;
  out.system_id = cstr(r.system_id);
  std::vector<Tlv> tlvs;
  if (!split_tlvs(c.pos(), c.end(), tlvs, error)) return false;
  for (const Tlv& t : tlvs)
    if (t.tag == tag::sc_interface_version && t.value.size() == 1) out.sc_interface_version = uint8_t(t.value[0]);
  return true;
}

bool oracle::decode_short_message(std::string_view pdu, ShortMessage& out, DecodeError& error) {
  if (!is_one_of(pdu, {Command::submit_sm, Command::deliver_sm})) return fail(error, kBadCommandId, "not a submit_sm or deliver_sm");
  const uint8_t* start = bytes(pdu);
  Cursor c(start + kHeaderSize, start + pdu.size());
  uint8_t sm_length = 0;
  c.cstring(6) && c.skip(2) && c.cstring(21) && c.skip(2) && c.cstring(21) && c.skip(3) && c.cstring(17) &&
      c.cstring(17) && c.skip(4) && c.u8(sm_length) && c.skip(sm_length);
  if (!c.ok()) return fail(error, kBadCommandLength, "message body truncated or a field too long");
  if (sm_length > 254) return fail(error, kBadMessageLength, "sm_length above 254");
  GuardedCopy copy;
  if (!copy.assign(pdu, size_t(c.pos() - start))) return fail(error, kBadCommandLength, "message body too long");
  // submit_sm_t and deliver_sm_t differ (deliver_sm's times are 1-octet fields): decode into the right one.
  bool decoded = read_header(start).command_id == uint32_t(Command::deliver_sm)
                     ? unpack_short_message<deliver_sm_t>(copy, out, error)
                     : unpack_short_message<submit_sm_t>(copy, out, error);
  if (!decoded) return false;
  return split_tlvs(c.pos(), c.end(), out.tlvs, error);
}

bool oracle::decode_message_id_resp(std::string_view pdu, std::string& message_id, DecodeError& error) {
  message_id.clear();
  if (!is_one_of(pdu, {Command::submit_sm_resp, Command::deliver_sm_resp, Command::data_sm_resp}))
    return fail(error, kBadCommandId, "not a message response");
  if (pdu.size() == kHeaderSize) return true;  // no body: allowed on error statuses
  Cursor c(bytes(pdu) + kHeaderSize, bytes(pdu) + pdu.size());
  const uint8_t* id = c.pos();
  if (!c.cstring(65)) return fail(error, kBadCommandLength, "message_id truncated or too long");
  // A short C-string has no structure for libsmpp34 to add; reading it here avoids its 2 µs per call.
  message_id.assign(reinterpret_cast<const char*>(id), size_t(c.pos() - id - 1));
  return true;
}

void encode_bind(std::string& out, uint32_t sequence, const Bind& bind) {
  bind_transceiver_t b{};
  b.command_id = uint32_t(bind.kind);
  b.sequence_number = sequence;
  copy_cstr(b.system_id, bind.system_id);
  copy_cstr(b.password, bind.password);
  copy_cstr(b.system_type, bind.system_type);
  b.interface_version = kInterfaceVersion;  // we speak 3.4 (and libsmpp34 packs nothing else)
  b.addr_ton = bind.addr_ton;
  b.addr_npi = bind.addr_npi;
  copy_cstr(b.address_range, bind.address_range);
  pack_into(out, b);
}

void encode_bind_resp(std::string& out, Command bind_kind, uint32_t sequence, uint32_t status,
                      const BindResp& resp) {
  size_t start = out.size();
  bind_transceiver_resp_t r{};
  r.command_id = uint32_t(response_to(uint32_t(bind_kind)));
  r.command_status = status;
  r.sequence_number = sequence;
  copy_cstr(r.system_id, resp.system_id);
  pack_into(out, r);
  if (resp.sc_interface_version) {
    append_tlvs(out, {Tlv{tag::sc_interface_version, std::string(1, char(*resp.sc_interface_version))}});
    patch_length(out, start);
  }
}

bool oracle::encode_short_message(std::string& out, Command kind, uint32_t sequence, const ShortMessage& sm) {
  size_t start = out.size();
  bool packed = kind == Command::deliver_sm ? pack_short_message<deliver_sm_t>(out, kind, sequence, sm)
                                            : pack_short_message<submit_sm_t>(out, kind, sequence, sm);
  if (!packed) return false;
  append_tlvs(out, sm.tlvs);
  patch_length(out, start);
  return true;
}

namespace {
template <typename T>
bool pack_message_id_resp(std::string& out, Command kind, uint32_t sequence, uint32_t status,
                          std::string_view message_id) {
  T r{};
  r.command_id = uint32_t(kind);
  r.command_status = status;
  r.sequence_number = sequence;
  copy_cstr(r.message_id, message_id);
  return try_pack(out, r);
}
}  // namespace

bool oracle::encode_message_id_resp(std::string& out, Command kind, uint32_t sequence, uint32_t status,
                                    std::string_view message_id) {
  switch (kind) {
    case Command::submit_sm_resp:
      return pack_message_id_resp<submit_sm_resp_t>(out, kind, sequence, status, message_id);
    case Command::deliver_sm_resp:
      return pack_message_id_resp<deliver_sm_resp_t>(out, kind, sequence, status, message_id);
    case Command::data_sm_resp:
      return pack_message_id_resp<data_sm_resp_t>(out, kind, sequence, status, message_id);
    default:
      return false;
  }
}

bool oracle::encode_header_only(std::string& out, Command kind, uint32_t sequence, uint32_t status) {
  switch (kind) {
    case Command::generic_nack:
    case Command::enquire_link:
    case Command::enquire_link_resp:
    case Command::unbind:
    case Command::unbind_resp:
      break;
    default:
      return false;  // libsmpp34 would pack a body from beyond the struct
  }
  generic_nack_t h{};  // every header-only PDU has this layout, and libsmpp34 packs by the command id
  h.command_id = uint32_t(kind);
  h.command_status = status;
  h.sequence_number = sequence;
  return try_pack(out, h);
}

}  // namespace smpp
