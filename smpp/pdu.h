// Hajib's own types for the SMPP PDUs it reads and writes (libsmpp34 structs never leave codec.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smpp/protocol.h"

namespace smpp {

namespace tag {
inline constexpr uint16_t sc_interface_version = 0x0210;
inline constexpr uint16_t receipted_message_id = 0x001E;
inline constexpr uint16_t message_state = 0x0427;
inline constexpr uint16_t message_payload = 0x0424;
}  // namespace tag

// An optional parameter as it came off the wire: forwarded bytes, never reinterpreted.
struct Tlv {
  uint16_t tag = 0;
  std::string value;
};

struct Bind {
  Command kind = Command::bind_transceiver;  // bind_transmitter | bind_receiver | bind_transceiver
  std::string system_id;
  std::string password;
  std::string system_type;
  uint8_t interface_version = kInterfaceVersion;
  uint8_t addr_ton = 0;
  uint8_t addr_npi = 0;
  std::string address_range;
};

struct BindResp {
  std::string system_id;
  std::optional<uint8_t> sc_interface_version;
};

// The kinds of field in smpp/pdu.def, and what each is read in place (view) and kept as (owned).
namespace field {
struct cstring {
  using view = std::string_view;
  using owned = std::string;
};
struct u8 {
  using view = uint8_t;
  using owned = uint8_t;
};
struct ton : u8 {};
struct npi : u8 {};
struct octets {
  using view = std::string_view;
  using owned = std::string;
};
}  // namespace field

// esm_class bits 2-5: 0x04 is an SMSC delivery receipt (SMPP 3.4 section 5.2.12).
inline bool is_delivery_receipt_class(uint8_t esm_class) { return (esm_class & 0x3C) == 0x04; }

// The body shared by submit_sm and deliver_sm (SMPP 3.4 sections 4.4.1 and 4.6.1), fields from
// smpp/pdu.def. smpp/pdu_view.h has the same body read in place.
struct ShortMessage {
#define SHORT_MESSAGE_FIELD(name, kind, max_with_nul, max_with_nul_in_deliver_sm) field::kind::owned name{};
#include "smpp/pdu.def"
  std::vector<Tlv> tlvs;

  const Tlv* find(uint16_t t) const;
  void set(uint16_t t, std::string value);  // replaces the first TLV with this tag, or appends
  bool is_delivery_receipt() const { return is_delivery_receipt_class(esm_class); }
};

}  // namespace smpp
