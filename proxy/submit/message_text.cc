// Choosing and decoding the bytes that carry a message's text.
#include "proxy/submit/message_text.h"

namespace proxy {

namespace {

// The TLV accessors of the owned message and of the view, alike.
std::optional<std::string_view> tlv(const smpp::ShortMessage& sm, uint16_t tag) {
  const smpp::Tlv* t = sm.find(tag);
  return t ? std::optional<std::string_view>(t->value) : std::nullopt;
}
std::optional<std::string_view> tlv(const smpp::ShortMessageView& sm, uint16_t tag) { return sm.find(tag); }

template <class Message>
TextResult text_of(const Message& sm, const smpp::TextOptions& options, std::string& utf8) {
  utf8.clear();
  std::string_view bytes = sm.short_message;
  if (auto payload = tlv(sm, smpp::tag::message_payload)) bytes = *payload;
  size_t header = 0;
  if (sm.esm_class & 0x40) {  // UDHI: the user data starts with a header
    auto udh = smpp::parse_udh(bytes);
    if (!udh) return TextResult::bad_udh;
    header = udh->length;
  }
  return smpp::decode_text(sm.data_coding, bytes, options, utf8, header) ? TextResult::ok : TextResult::not_inspectable;
}

template <class Message>
std::optional<smpp::Concatenation> concatenation_in(const Message& sm, bool& malformed) {
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
    auto ref = tlv(sm, 0x020C), total = tlv(sm, 0x020E), seq = tlv(sm, 0x020F);
    if (!ref && !total && !seq) return std::nullopt;
    if (!ref || !total || !seq || ref->size() != 2 || total->size() != 1 || seq->size() != 1) {
      malformed = true;
      return std::nullopt;
    }
    c = smpp::Concatenation{uint16_t(uint8_t((*ref)[0]) << 8 | uint8_t((*ref)[1])), uint8_t((*total)[0]),
                            uint8_t((*seq)[0])};
    if (c->total == 0 || c->sequence == 0 || c->sequence > c->total) {
      malformed = true;
      return std::nullopt;
    }
  }
  if (c && c->total <= 1) return std::nullopt;
  return c;
}

}  // namespace

TextResult message_text(const smpp::ShortMessage& sm, const smpp::TextOptions& options, std::string& utf8) {
  return text_of(sm, options, utf8);
}
TextResult message_text(const smpp::ShortMessageView& sm, const smpp::TextOptions& options, std::string& utf8) {
  return text_of(sm, options, utf8);
}
std::optional<smpp::Concatenation> concatenation_of(const smpp::ShortMessage& sm, bool& malformed) {
  return concatenation_in(sm, malformed);
}
std::optional<smpp::Concatenation> concatenation_of(const smpp::ShortMessageView& sm, bool& malformed) {
  return concatenation_in(sm, malformed);
}

void WholeText::add(std::string_view pdu) {
  smpp::ShortMessageView sm;
  smpp::DecodeError error;
  if (!smpp::read_short_message(pdu, sm, error) || message_text(sm, options, part_) != TextResult::ok)
    inspectable = false;
  else
    text += part_;
}

}  // namespace proxy
