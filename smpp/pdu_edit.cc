// Byte-level edits of encoded PDUs for forwarding.
#include "smpp/pdu_edit.h"

#include "smpp/pdu_view.h"
#include "smpp/protocol.h"

namespace smpp {

bool rewrite_destination(std::string_view pdu, const ShortMessageView& sm, uint8_t ton, uint8_t npi,
                         std::string_view destination, std::string& out) {
  // destination_addr views the PDU's bytes; dest_addr_ton and dest_addr_npi are the two before it
  // and its NUL the one after (smpp/pdu.def).
  const char* at = sm.destination_addr.data();
  const char* const body = pdu.data() + kHeaderSize;
  if (at == nullptr || at < body + 2 || at + sm.destination_addr.size() >= pdu.data() + pdu.size() || destination.size() > 20)
    return false;
  const size_t head = size_t(at - pdu.data()) - 2, tail = size_t(at - pdu.data()) + sm.destination_addr.size() + 1;
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
