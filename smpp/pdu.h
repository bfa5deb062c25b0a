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

// The body shared by submit_sm and deliver_sm (SMPP 3.4 sections 4.4.1 and 4.6.1).
struct ShortMessage {
  std::string service_type;
  uint8_t source_addr_ton = 0;
  uint8_t source_addr_npi = 0;
  std::string source_addr;
  uint8_t dest_addr_ton = 0;
  uint8_t dest_addr_npi = 0;
  std::string destination_addr;
  uint8_t esm_class = 0;
  uint8_t protocol_id = 0;
  uint8_t priority_flag = 0;
  std::string schedule_delivery_time;
  std::string validity_period;
  uint8_t registered_delivery = 0;
  uint8_t replace_if_present_flag = 0;
  uint8_t data_coding = 0;
  uint8_t sm_default_msg_id = 0;
  std::string short_message;
  std::vector<Tlv> tlvs;

  const Tlv* find(uint16_t t) const;
  void set(uint16_t t, std::string value);  // replaces the first TLV with this tag, or appends
  // esm_class bits 2-5: 0x04 is an SMSC delivery receipt (SMPP 3.4 section 5.2.12).
  bool is_delivery_receipt() const { return (esm_class & 0x3C) == 0x04; }
};

}  // namespace smpp
