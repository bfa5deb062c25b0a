// SMPP 3.4 vocabulary: command ids, statuses, the 16-byte header and big-endian helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace smpp {

enum class Command : uint32_t {
#define X(name, id) name = id,
#include "smpp/commands.def"
#undef X
};

namespace status {
#define X(name, value, meaning) inline constexpr uint32_t name = value;
#include "smpp/statuses.def"
#undef X
}  // namespace status

// Name of a command id ("submit_sm"), or "unknown" for ids outside the table.
std::string_view command_name(uint32_t id);
bool is_known_command(uint32_t id);
// Name of a status ("ESME_RTHROTTLED"), or "" for values outside the table.
std::string_view status_name(uint32_t value);

inline constexpr uint32_t kResponseBit = 0x80000000u;
inline constexpr size_t kHeaderSize = 16;
inline constexpr uint8_t kInterfaceVersion = 0x34;

inline bool is_response(uint32_t command_id) { return (command_id & kResponseBit) != 0; }

inline uint32_t load_be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}
inline uint16_t load_be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
inline void store_be16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}

struct Header {
  uint32_t length = 0;
  uint32_t command_id = 0;
  uint32_t status = 0;
  uint32_t sequence = 0;
};

inline Header read_header(const uint8_t* p) {
  return Header{load_be32(p), load_be32(p + 4), load_be32(p + 8), load_be32(p + 12)};
}
inline void write_header(uint8_t* p, const Header& h) {
  store_be32(p, h.length);
  store_be32(p + 4, h.command_id);
  store_be32(p + 8, h.status);
  store_be32(p + 12, h.sequence);
}
// Rewrites the sequence number of an encoded PDU in place (forwarding keeps the customer's bytes).
inline void patch_sequence(uint8_t* pdu, uint32_t sequence) { store_be32(pdu + 12, sequence); }

// Sequence numbers run 1..0x7FFFFFFF (SMPP 3.4 section 3.2).
inline uint32_t next_sequence(uint32_t& counter) {
  counter = counter >= 0x7FFFFFFFu ? 1 : counter + 1;
  return counter;
}

}  // namespace smpp
