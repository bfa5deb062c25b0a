// libFuzzer target: short message text through every data_coding and the UDH parser, with the properties the rules rely on.
//
// Input: byte 0 is data_coding, byte 1 the options (bits 0-1 what data_coding 0 means, bit 2
// GSM 7-bit packing, bit 3 UDHI), the rest the short_message. Seeds: test/fuzz/corpus/text/.
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>

#include "smpp/text.h"

namespace {

void fail(const char* what) {
  std::fprintf(stderr, "property broken: %s\n", what);
  std::abort();
}

// Code points in `s` if it is well-formed UTF-8 (no surrogates, nothing above U+10FFFF), else -1.
long utf8_code_points(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  int32_t i = 0, n = int32_t(s.size());
  long count = 0;
  while (i < n) {
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) return -1;
    ++count;
  }
  return count;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t data_coding = data[0], flags = data[1];
  std::string_view message(reinterpret_cast<const char*>(data + 2), size - 2);

  smpp::TextOptions options;
  options.smsc_default = smpp::DefaultAlphabet((flags & 3) % 3);
  options.gsm7_packed = (flags & 4) != 0;

  std::string_view user_data = message;
  size_t header = 0;  // octets of UDH at the start of `message`, as the relay passes them
  if (flags & 8) {
    auto udh = smpp::parse_udh(message);
    if (udh) {
      // What the relay trusts: the header lies inside the message, as its first octet says, and
      // a concatenation it reports is a part that can exist.
      if (udh->length == 0 || udh->length > message.size()) fail("UDH length outside the message");
      if (udh->length != 1 + size_t{uint8_t(message[0])}) fail("UDH length is not UDHL + 1");
      if (udh->concatenation) {
        const auto& c = *udh->concatenation;
        if (c.total == 0 || c.sequence == 0 || c.sequence > c.total) fail("impossible concatenation");
      }
      header = udh->length;
      user_data.remove_prefix(udh->length);
    }
  }

  // decode_text appends: whatever is already in `out` stays.
  const std::string prefix = "p";
  std::string out = prefix;
  const bool read = smpp::decode_text(data_coding, message, options, out, header);
  const bool should_read = data_coding == 0 || data_coding == 1 || data_coding == 3 || data_coding == 8;
  if (read != should_read) fail("decode_text reads a coding it should not, or refuses one it should");
  if (out.compare(0, prefix.size(), prefix) != 0) fail("decode_text changed what was already in out");
  if (!read) {
    if (out != prefix) fail("decode_text wrote text for a coding it does not read");
    return 0;
  }
  const std::string_view text = std::string_view(out).substr(prefix.size());

  // The rules match on this text: it must be well-formed UTF-8 whatever the bytes were.
  const long points = utf8_code_points(text);
  if (points < 0) fail("decoded text is not well-formed UTF-8");

  // One character per octet for the 8-bit codings; never more characters than units otherwise.
  const bool one_per_octet = data_coding == 1 || data_coding == 3 ||
                             (data_coding == 0 && options.smsc_default != smpp::DefaultAlphabet::gsm7);
  if (one_per_octet && size_t(points) != user_data.size()) fail("8-bit coding: characters != octets");
  if (data_coding == 0 && options.smsc_default == smpp::DefaultAlphabet::gsm7) {
    const size_t septets = options.gsm7_packed ? user_data.size() * 8 / 7 : user_data.size();
    if (size_t(points) > septets) fail("GSM 7-bit: more characters than septets");
  }
  if (data_coding == 8 && size_t(points) > (user_data.size() + 1) / 2) fail("UCS-2: more characters than units");

  // What the proxy writes itself (encode_ucs2) must read back as the same text.
  std::string ucs2, back;
  smpp::encode_ucs2(text, ucs2);
  if (ucs2.size() % 2 != 0) fail("encode_ucs2 wrote an odd number of octets");
  if (!smpp::decode_text(8, ucs2, options, back) || back != text) fail("UCS-2 round trip changed the text");

  // And encode_ucs2 on arbitrary bytes (invalid UTF-8 included) still writes valid UTF-16.
  smpp::encode_ucs2(user_data, ucs2);
  back.clear();
  smpp::decode_text(8, ucs2, options, back);
  if (utf8_code_points(back) < 0) fail("encode_ucs2 of arbitrary bytes does not read back as UTF-8");
  return 0;
}
