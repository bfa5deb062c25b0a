// Short message text: data_coding to UTF-8 for the rules, and the user data header of long messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smpp {

// What data_coding 0 ("SMSC default alphabet") means on this deployment, and whether GSM 7-bit
// text arrives packed (7 bits per character) or one character per octet.
enum class DefaultAlphabet : uint8_t { gsm7, ascii, latin1 };
struct TextOptions {
  DefaultAlphabet smsc_default = DefaultAlphabet::gsm7;
  bool gsm7_packed = false;
};

// Decodes the user data `bytes` in `data_coding` to UTF-8, appending to `out`; its first
// `header_octets` are a user data header, not text. Packed GSM 7-bit text after a header starts
// at the next septet boundary (fill bits, 3GPP TS 23.040 9.2.3.24), so the header is counted in
// septets there, in octets otherwise. Codings read: 0 (per options), 1 (IA5/ASCII), 3
// (Latin-1), 8 (UCS-2/UTF-16BE, surrogate pairs included). Returns false for codings it does not
// read (binary, 8-bit, ...): the text is then not inspectable. Malformed input (an odd UCS-2
// length, a lone surrogate, an escape at the end) decodes with U+FFFD in place of the bad unit,
// never reading outside `bytes`.
bool decode_text(uint8_t data_coding, std::string_view bytes, const TextOptions& options, std::string& out,
                 size_t header_octets = 0);

// UTF-8 to UCS-2/UTF-16BE (data_coding 8), for messages the proxy writes itself. Invalid
// UTF-8 becomes U+FFFD.
void encode_ucs2(std::string_view utf8, std::string& out);

// UTF-8 to data_coding 0 as `options` says the SMSC reads it, for messages the proxy writes
// itself: GSM 7-bit (the default alphabet and its extension table; packed, or a septet per
// octet), ASCII or Latin-1. Returns false when a character is not in the GSM 7-bit alphabet, or
// not in the deployment's default alphabet (ASCII, Latin-1): the text must then go as UCS-2.
// `characters` is its length as the handset counts it (an extension character counts two).
bool encode_default_alphabet(std::string_view utf8, const TextOptions& options, std::string& out, size_t& characters);

// A concatenation information element of a user data header (3GPP TS 23.040 9.2.3.24.1 and .8).
struct Concatenation {
  uint16_t reference = 0;  // 8-bit (IE 0x00) or 16-bit (IE 0x08) reference
  uint8_t total = 0;
  uint8_t sequence = 0;    // 1-based
};

struct UserDataHeader {
  size_t length = 0;  // bytes the UDH takes, its length octet included: the text starts there
  std::optional<Concatenation> concatenation;
};

// Parses the UDH at the start of `short_message` (esm_class bit 0x40 set). Other information
// elements are skipped. nullopt when malformed: UDHL or an IE length beyond the message, a
// concatenation IE with total 0 or sequence outside 1..total.
std::optional<UserDataHeader> parse_udh(std::string_view short_message);

}  // namespace smpp
