// Choosing and decoding the bytes that carry a message's text.
#include "proxy/submit/message_text.h"

namespace proxy {

TextResult message_text(const smpp::ShortMessage& sm, const smpp::TextOptions& options, std::string& utf8) {
  utf8.clear();
  std::string_view bytes = sm.short_message;
  if (const smpp::Tlv* payload = sm.find(smpp::tag::message_payload)) bytes = payload->value;
  size_t header = 0;
  if (sm.esm_class & 0x40) {  // UDHI: the user data starts with a header
    auto udh = smpp::parse_udh(bytes);
    if (!udh) return TextResult::bad_udh;
    header = udh->length;
  }
  return smpp::decode_text(sm.data_coding, bytes, options, utf8, header) ? TextResult::ok : TextResult::not_inspectable;
}

std::optional<smpp::Concatenation> concatenation_of(const smpp::ShortMessage& sm, bool& malformed) {
  malformed = false;
  std::optional<smpp::Concatenation> c;
  if (sm.esm_class & 0x40) {
    auto udh = smpp::parse_udh(sm.short_message);
    if (!udh) {
      malformed = true;
      return std::nullopt;
    }
    c = udh->concatenation;
  } else {
    const smpp::Tlv* ref = sm.find(0x020C);
    const smpp::Tlv* total = sm.find(0x020E);
    const smpp::Tlv* seq = sm.find(0x020F);
    if (!ref && !total && !seq) return std::nullopt;
    if (!ref || !total || !seq || ref->value.size() != 2 || total->value.size() != 1 || seq->value.size() != 1) {
      malformed = true;
      return std::nullopt;
    }
    c = smpp::Concatenation{uint16_t(uint8_t(ref->value[0]) << 8 | uint8_t(ref->value[1])), uint8_t(total->value[0]),
                            uint8_t(seq->value[0])};
    if (c->total == 0 || c->sequence == 0 || c->sequence > c->total) {
      malformed = true;
      return std::nullopt;
    }
  }
  if (c && c->total <= 1) return std::nullopt;
  return c;
}

}  // namespace proxy
