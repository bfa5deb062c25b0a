// Byte-level edits of encoded PDUs for forwarding.
#include "smpp/pdu_edit.h"

#include "smpp/cursor.h"
#include "smpp/protocol.h"

namespace smpp {

bool rewrite_destination(std::string_view pdu, uint8_t ton, uint8_t npi, std::string_view destination,
                         std::string& out) {
  const uint8_t* start = reinterpret_cast<const uint8_t*>(pdu.data());
  Cursor c(start + kHeaderSize, start + pdu.size());
  c.cstring(6) && c.skip(2) && c.cstring(21);
  const uint8_t* ton_at = c.pos();
  c.skip(2) && c.cstring(21);
  if (!c.ok() || destination.size() > 20) return false;
  size_t head = size_t(ton_at - start), tail = size_t(c.pos() - start);
  out.clear();
  out.reserve(pdu.size() + destination.size());
  out.append(pdu.substr(0, head));
  out.push_back(char(ton));
  out.push_back(char(npi));
  out.append(destination);
  out.push_back('\0');
  out.append(pdu.substr(tail));
  store_be32(reinterpret_cast<uint8_t*>(out.data()), uint32_t(out.size()));
  return true;
}

}  // namespace smpp
