// Short message text: data_coding to UTF-8, and the user data header of long messages.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "smpp/text.h"

using smpp::DefaultAlphabet;
using smpp::TextOptions;

namespace {

const TextOptions kUnpacked{DefaultAlphabet::gsm7, false};
const TextOptions kPacked{DefaultAlphabet::gsm7, true};

std::string decode(uint8_t coding, std::string_view bytes, const TextOptions& options = kUnpacked) {
  std::string out;
  REQUIRE(smpp::decode_text(coding, bytes, options, out));
  return out;
}

std::string bytes(std::initializer_list<uint8_t> b) { return std::string(b.begin(), b.end()); }

// The code points of a UTF-8 string (the test's own decoder, valid input only).
std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<uint8_t>(s[i]);
    int n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t c = n == 1 ? b : b & (0x7F >> n);
    for (int k = 1; k < n; ++k) c = c << 6 | (static_cast<uint8_t>(s[i + k]) & 0x3F);
    out.push_back(c);
    i += n;
  }
  return out;
}

// 7-bit packing of septets, LSB first (3GPP TS 23.038 6.1.2.1.1); fill bits are `fill`'s.
std::string pack7(const std::vector<uint8_t>& septets, uint8_t fill = 0) {
  std::vector<uint8_t> s = septets;
  if (s.size() % 8 == 7) s.push_back(fill);  // 7 spare bits: they carry `fill`
  std::string out((s.size() * 7 + 7) / 8, '\0');
  for (size_t i = 0; i < s.size(); ++i)
    for (int bit = 0; bit < 7; ++bit)
      if (s[i] >> bit & 1) out[(i * 7 + bit) / 8] |= static_cast<char>(1 << ((i * 7 + bit) % 8));
  return out;
}

std::vector<uint8_t> septets_of(std::string_view ascii_letters) {
  return {ascii_letters.begin(), ascii_letters.end()};  // a-z, A-Z, 0-9 and space are at their ASCII codes
}

// The GSM 03.38 default alphabet, septets 0x00 to 0x7F, as printed in 3GPP TS 23.038 6.2.1 (0x1B,
// the escape, is a placeholder here).
const char* const kGsmDefaultAlphabet =
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1b" "ÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà";

}  // namespace

// --- GSM 7-bit -------------------------------------------------------------------------------

TEST_CASE("GSM 7-bit: every septet of the default alphabet decodes to the character of 23.038") {
  std::vector<char32_t> expected = code_points(kGsmDefaultAlphabet);
  REQUIRE(expected.size() == 128);
  for (unsigned septet = 0; septet < 128; ++septet) {
    if (septet == 0x1B) continue;  // the escape: see the extension tests
    INFO("septet 0x" << std::hex << septet);
    std::vector<char32_t> got = code_points(decode(0, bytes({static_cast<uint8_t>(septet)})));
    REQUIRE(got.size() == 1);
    CHECK(got[0] == expected[septet]);
  }
}

TEST_CASE("GSM 7-bit: the whole default alphabet in one message decodes in order") {
  std::string all;
  std::u32string expected;
  std::vector<char32_t> table = code_points(kGsmDefaultAlphabet);
  for (unsigned septet = 0; septet < 128; ++septet) {
    if (septet == 0x1B) continue;
    all.push_back(static_cast<char>(septet));
    expected.push_back(table[septet]);
  }
  std::vector<char32_t> got = code_points(decode(0, all));
  CHECK(std::u32string(got.begin(), got.end()) == expected);
}

TEST_CASE("GSM 7-bit: each character of the extension table, after the escape") {
  const std::pair<uint8_t, const char*> extension[] = {
      {0x0A, "\f"}, {0x14, "^"}, {0x28, "{"}, {0x29, "}"}, {0x2F, "\\"},
      {0x3C, "["},  {0x3D, "~"}, {0x3E, "]"}, {0x40, "|"}, {0x65, "€"},
  };
  for (auto [septet, text] : extension) {
    INFO("septet 0x" << std::hex << int{septet});
    CHECK(decode(0, bytes({0x1B, septet})) == text);
    CHECK(decode(0, bytes({'a', 0x1B, septet, 'b'})) == std::string("a") + text + "b");
  }
}

TEST_CASE("GSM 7-bit: an escaped code the extension table lacks shows the default table's character") {
  CHECK(decode(0, bytes({0x1B, 0x41})) == "A");
  CHECK(decode(0, bytes({0x1B, 0x00})) == "@");
  CHECK(decode(0, bytes({0x1B, 0x05})) == "é");
  CHECK(decode(0, bytes({0x1B, 0x1B, 'a'})) == "\u00A0a");  // ESC ESC: "display a space"
}

TEST_CASE("GSM 7-bit: an escape ending the message decodes as U+FFFD") {
  CHECK(decode(0, bytes({'a', 0x1B})) == "a\uFFFD");
  CHECK(decode(0, bytes({0x1B})) == "\uFFFD");
  CHECK(decode(0, pack7({'a', 0x1B}), kPacked) == "a\uFFFD");
}

TEST_CASE("GSM 7-bit unpacked: the top bit of each octet is ignored") {
  CHECK(decode(0, bytes({0x80 | 'h', 0x80 | 'i'})) == "hi");
}

// Runs of octets that stand for themselves are copied eight at a time: what interrupts a run
// (an escape, '@', '$', an octet with its top bit set) must decode the same wherever it falls.
TEST_CASE("GSM 7-bit unpacked: an escape, '@', '$' or a top-bit octet decodes the same at every offset in a run") {
  for (size_t offset = 0; offset < 20; ++offset) {
    INFO("offset " << offset);
    const std::string run(offset, 'a'), tail(offset, 'b');
    CHECK(decode(0, run + "\x1B\x65" + tail) == run + "\u20AC" + tail);     // escape, then the euro sign
    CHECK(decode(0, run + std::string(1, '\0') + tail) == run + "@" + tail);  // 0x00 is '@'
    CHECK(decode(0, run + "\x02" + tail) == run + "$" + tail);               // 0x02 is '$'; 0x24 is the currency sign
    CHECK(decode(0, run + "\x24" + tail) == run + "\u00A4" + tail);
    CHECK(decode(0, run + std::string(1, char(0x80 | 'z')) + tail) == run + "z" + tail);
    CHECK(decode(0, run + "\x1B") == run + "\uFFFD");  // an escape ending the message
  }
}

TEST_CASE("GSM 7-bit packed: the known vector for \"hello\"") {
  CHECK(decode(0, bytes({0xE8, 0x32, 0x9B, 0xFD, 0x06}), kPacked) == "hello");
}

TEST_CASE("GSM 7-bit: packed and unpacked give the same text, across the packing boundary") {
  for (const char* text : {"hello", "abcdefg", "abcdefgh", "abcdefghijklmno", "abcdefghijklmnop", "H"}) {
    INFO(text);
    std::string packed = pack7(septets_of(text));
    CHECK(decode(0, text) == text);
    CHECK(decode(0, packed, kPacked) == text);
  }
  CHECK(pack7(septets_of("abcdefg")).size() == 7);   // 7 septets + 7 fill bits
  CHECK(pack7(septets_of("abcdefgh")).size() == 7);  // 8 septets, no fill
}

TEST_CASE("GSM 7-bit packed: 7 fill bits set to CR (23.038 6.1.2.1.1) are dropped like zero fill") {
  CHECK(decode(0, pack7(septets_of("abcdefg"), 0x0D), kPacked) == "abcdefg");
}

TEST_CASE("GSM 7-bit packed: extension characters and an escape split across octets") {
  std::vector<uint8_t> s = {'a', 'b', 'c', 'd', 'e', 'f', 0x1B, 0x65, 0x1B, 0x3C, 'x'};  // ESC at septet 6: octets 5-6
  CHECK(decode(0, pack7(s), kPacked) == "abcdef€[x");
}

TEST_CASE("GSM 7-bit packed: an empty message is empty text") {
  CHECK(decode(0, "", kPacked).empty());
  CHECK(decode(0, "").empty());
}

// --- Other codings ---------------------------------------------------------------------------

TEST_CASE("data_coding 0 follows the deployment's SMSC default: ASCII or Latin-1") {
  CHECK(decode(0, "caf\xE9", TextOptions{DefaultAlphabet::ascii, false}) == "caf\uFFFD");
  CHECK(decode(0, "caf\xE9", TextOptions{DefaultAlphabet::latin1, false}) == "café");
  CHECK(decode(0, "{x}", TextOptions{DefaultAlphabet::ascii, false}) == "{x}");
}

TEST_CASE("data_coding 1 (IA5/ASCII): bytes above 0x7F become U+FFFD") {
  CHECK(decode(1, "Sale {50%}") == "Sale {50%}");
  CHECK(decode(1, "a\x80z\xFF") == "a\uFFFDz\uFFFD");
}

TEST_CASE("data_coding 3 (Latin-1): é and ü") {
  CHECK(decode(3, "\xE9t\xE9 \xFC" "ber") == "été über");
  CHECK(decode(3, bytes({0x00, 0x7F, 0xA0, 0xFF})) == std::string("\0\x7F\u00A0\u00FF", 6));
}

TEST_CASE("data_coding 8 (UCS-2): Arabic text") {
  // مرحبا: U+0645 U+0631 U+062D U+0628 U+0627
  CHECK(decode(8, bytes({0x06, 0x45, 0x06, 0x31, 0x06, 0x2D, 0x06, 0x28, 0x06, 0x27})) == "مرحبا");
}

TEST_CASE("data_coding 8 (UTF-16BE): a surrogate pair is one code point") {
  CHECK(decode(8, bytes({0xD8, 0x3D, 0xDE, 0x00})) == "😀");
  CHECK(decode(8, bytes({0x00, 'a', 0xD8, 0x3D, 0xDE, 0x00, 0x00, 'b'})) == "a😀b");
}

TEST_CASE("data_coding 8: a lone surrogate becomes U+FFFD") {
  CHECK(decode(8, bytes({0xD8, 0x3D, 0x00, 'A'})) == "\uFFFDA");  // lead, no trail
  CHECK(decode(8, bytes({0xDE, 0x00, 0x00, 'A'})) == "\uFFFDA");  // trail alone
  CHECK(decode(8, bytes({0x00, 'A', 0xD8, 0x3D})) == "A\uFFFD");  // lead at the end
  CHECK(decode(8, bytes({0xD8, 0x3D, 0xD8, 0x3D, 0xDE, 0x00})) == "\uFFFD😀");
}

TEST_CASE("data_coding 8: an odd trailing byte becomes U+FFFD") {
  CHECK(decode(8, bytes({0x00, 'A', 0x00})) == "A\uFFFD");
  CHECK(decode(8, bytes({0xD8})) == "\uFFFD");
  CHECK(decode(8, bytes({0xD8, 0x3D, 0xDE})) == "\uFFFD\uFFFD");  // lone lead, then the odd byte
}

TEST_CASE("codings the decoder does not read return false and append nothing") {
  for (uint8_t coding : {2, 4, 5, 6, 7, 9, 0x10, 0xF5, 0xFF}) {
    INFO("data_coding " << int{coding});
    std::string out = "kept";
    CHECK_FALSE(smpp::decode_text(coding, "abc", kUnpacked, out));
    CHECK(out == "kept");
  }
}

TEST_CASE("decoding appends to what is already in the output") {
  std::string out = "x:";
  REQUIRE(smpp::decode_text(1, "y", kUnpacked, out));
  CHECK(out == "x:y");
}

// --- User data header ------------------------------------------------------------------------

TEST_CASE("UDH: concatenation with an 8-bit reference") {
  std::string sm = bytes({0x05, 0x00, 0x03, 0xA7, 0x03, 0x02}) + "text";
  auto udh = smpp::parse_udh(sm);
  REQUIRE(udh);
  CHECK(udh->length == 6);
  REQUIRE(udh->concatenation);
  CHECK(udh->concatenation->reference == 0xA7);
  CHECK(udh->concatenation->total == 3);
  CHECK(udh->concatenation->sequence == 2);
}

TEST_CASE("UDH: concatenation with a 16-bit reference") {
  std::string sm = bytes({0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x01}) + "text";
  auto udh = smpp::parse_udh(sm);
  REQUIRE(udh);
  CHECK(udh->length == 7);
  REQUIRE(udh->concatenation);
  CHECK(udh->concatenation->reference == 0x1234);
  CHECK(udh->concatenation->total == 2);
  CHECK(udh->concatenation->sequence == 1);
}

TEST_CASE("UDH: other IEs before and after the concatenation IE are skipped") {
  // port addressing (0x05, 4 octets), concatenation, national language single shift (0x24, 1).
  std::string sm = bytes({0x0E, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x01, 0x02, 0x02, 0x24, 0x01, 0x0D});
  auto udh = smpp::parse_udh(sm);
  REQUIRE(udh);
  CHECK(udh->length == sm.size());
  REQUIRE(udh->concatenation);
  CHECK(udh->concatenation->reference == 1);
  CHECK(udh->concatenation->sequence == 2);
}

TEST_CASE("UDH: no concatenation IE, or no IE at all, is a valid header") {
  auto udh = smpp::parse_udh(bytes({0x04, 0x05, 0x02, 0x0B, 0x84, 'x'}));
  REQUIRE(udh);
  CHECK(udh->length == 5);
  CHECK_FALSE(udh->concatenation);
  udh = smpp::parse_udh(bytes({0x00, 'x'}));
  REQUIRE(udh);
  CHECK(udh->length == 1);
}

TEST_CASE("UDH: UDHL beyond the message is malformed") {
  CHECK_FALSE(smpp::parse_udh(bytes({0x05, 0x00, 0x03, 0x01, 0x02})));
  CHECK_FALSE(smpp::parse_udh(""));
}

TEST_CASE("UDH: an IE length beyond the UDH is malformed") {
  CHECK_FALSE(smpp::parse_udh(bytes({0x03, 0x05, 0x04, 0x0B, 0x84, 0x23})));  // IE runs into the text
  CHECK_FALSE(smpp::parse_udh(bytes({0x01, 0x05, 'x'})));                    // IE without its length
}

TEST_CASE("UDH: a concatenation IE of the wrong length is malformed") {
  CHECK_FALSE(smpp::parse_udh(bytes({0x04, 0x00, 0x02, 0x01, 0x02})));
  CHECK_FALSE(smpp::parse_udh(bytes({0x05, 0x08, 0x03, 0x01, 0x02, 0x01})));
}

TEST_CASE("UDH: total 0 is malformed") {
  CHECK_FALSE(smpp::parse_udh(bytes({0x05, 0x00, 0x03, 0x01, 0x00, 0x00})));
}

TEST_CASE("UDH: sequence 0 or beyond the total is malformed") {
  CHECK_FALSE(smpp::parse_udh(bytes({0x05, 0x00, 0x03, 0x01, 0x02, 0x00})));
  CHECK_FALSE(smpp::parse_udh(bytes({0x05, 0x00, 0x03, 0x01, 0x02, 0x03})));
  CHECK_FALSE(smpp::parse_udh(bytes({0x06, 0x08, 0x04, 0x00, 0x01, 0x02, 0x03})));
}

TEST_CASE("GSM 7-bit packed after a user data header: the text starts at the next septet boundary (fill bits)") {
  // UDH of 6 octets (48 bits): 1 fill bit, then "Hi" from septet 7 (3GPP TS 23.040 9.2.3.24).
  const std::string ud = bytes({0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, 0x48 << 1 & 0xFF, 0x69});
  std::string out;
  REQUIRE(smpp::decode_text(0, ud, kPacked, out, 6));
  CHECK(out == "Hi");
  // Unpacked and the other codings skip the header by octets.
  out.clear();
  REQUIRE(smpp::decode_text(0, bytes({0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, 'H', 'i'}), smpp::TextOptions{}, out, 6));
  CHECK(out == "Hi");
  out.clear();
  REQUIRE(smpp::decode_text(8, bytes({0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, 0x00, 'H', 0x00, 'i'}), smpp::TextOptions{}, out, 6));
  CHECK(out == "Hi");
}

TEST_CASE("a header longer than the user data leaves no text, and reads nothing outside it") {
  std::string out;
  CHECK(smpp::decode_text(0, bytes({0x05, 0x00}), kPacked, out, 6));
  CHECK(out.empty());
}

// ---- data_coding 0 for the proxy's own messages (opt-out confirmations) ----

TEST_CASE("encode_default_alphabet: a GSM 7-bit text round-trips, unpacked and packed, extension characters counting two") {
  const std::string text = "You will no longer receive offers from ACME @ 5€ [x]";
  for (const TextOptions& options : {kUnpacked, kPacked}) {
    std::string encoded;
    size_t characters = 0;
    REQUIRE(smpp::encode_default_alphabet(text, options, encoded, characters));
    CHECK(characters == code_points(text).size() + 3);  // €, [ and ] are an escape and a septet each
    CHECK(encoded.size() == (options.gsm7_packed ? (characters * 7 + 7) / 8 : characters));
    CHECK(decode(0, encoded, options) == text);
  }
}

TEST_CASE("encode_default_alphabet: a character outside the GSM 7-bit alphabet (Arabic, NBSP) asks for UCS-2") {
  std::string encoded;
  size_t characters = 0;
  CHECK_FALSE(smpp::encode_default_alphabet("لن تصلك رسائل من ACME", kUnpacked, encoded, characters));
  CHECK_FALSE(smpp::encode_default_alphabet("ACME\u00A0Trading", kUnpacked, encoded, characters));
  CHECK_FALSE(smpp::encode_default_alphabet("bad \xFF byte", kUnpacked, encoded, characters));
}

TEST_CASE("encode_default_alphabet: with an ASCII or Latin-1 SMSC default, a GSM character those lack asks for UCS-2") {
  std::string encoded;
  size_t characters = 0;
  REQUIRE(smpp::encode_default_alphabet("Caf\u00E9 ACME", TextOptions{DefaultAlphabet::latin1, false}, encoded, characters));
  CHECK(encoded == "Caf\xE9 ACME");
  CHECK(decode(0, encoded, TextOptions{DefaultAlphabet::latin1, false}) == "Caf\u00E9 ACME");
  CHECK_FALSE(smpp::encode_default_alphabet("Caf\u00E9", TextOptions{DefaultAlphabet::ascii, false}, encoded, characters));
  CHECK_FALSE(smpp::encode_default_alphabet("\u0394 ACME", TextOptions{DefaultAlphabet::latin1, false}, encoded, characters));
}
