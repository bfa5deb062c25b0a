// Choosing and decoding the bytes that carry a message's text.
#include "proxy/message_text.h"

namespace proxy {

TextResult message_text(const smpp::ShortMessage& sm, const smpp::TextOptions& options, std::string& utf8) {
  utf8.clear();
  std::string_view bytes = sm.short_message;
  if (const smpp::Tlv* payload = sm.find(smpp::tag::message_payload)) bytes = payload->value;
  if (sm.esm_class & 0x40) {  // UDHI: the user data starts with a header
    auto udh = smpp::parse_udh(bytes);
    if (!udh) return TextResult::bad_udh;
    bytes.remove_prefix(udh->length);
  }
  return smpp::decode_text(sm.data_coding, bytes, options, utf8) ? TextResult::ok : TextResult::not_inspectable;
}

}  // namespace proxy
