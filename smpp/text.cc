// Short message text: data_coding to UTF-8, and the user data header of long messages.
#include "smpp/text.h"

#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace smpp {
namespace {

constexpr char32_t kReplacement = 0xFFFD;
constexpr uint8_t kGsmEscape = 0x1B;

// GSM 03.38 default alphabet (3GPP TS 23.038 6.2.1), indexed by septet. 0x1B is the escape to the
// extension table; a receiver that does not understand it shows a space, hence NBSP here (as in
// the Unicode consortium's GSM0338.TXT). It is only used for "ESC ESC" (see kGsmExtension).
constexpr std::array<char32_t, 128> kGsmDefault = {
    U'@',    U'\u00A3', U'$',     U'\u00A5', U'\u00E8', U'\u00E9', U'\u00F9', U'\u00EC',  // 0x00
    U'\u00F2', U'\u00C7', U'\n',  U'\u00D8', U'\u00F8', U'\r',     U'\u00C5', U'\u00E5',  // 0x08
    U'\u0394', U'_',    U'\u03A6', U'\u0393', U'\u039B', U'\u03A9', U'\u03A0', U'\u03A8',  // 0x10
    U'\u03A3', U'\u0398', U'\u039E', U'\u00A0', U'\u00C6', U'\u00E6', U'\u00DF', U'\u00C9',  // 0x18
    U' ',    U'!',      U'"',     U'#',      U'\u00A4', U'%',      U'&',      U'\'',      // 0x20
    U'(',    U')',      U'*',     U'+',      U',',      U'-',      U'.',      U'/',       // 0x28
    U'0',    U'1',      U'2',     U'3',      U'4',      U'5',      U'6',      U'7',       // 0x30
    U'8',    U'9',      U':',     U';',      U'<',      U'=',      U'>',      U'?',       // 0x38
    U'\u00A1', U'A',    U'B',     U'C',      U'D',      U'E',      U'F',      U'G',       // 0x40
    U'H',    U'I',      U'J',     U'K',      U'L',      U'M',      U'N',      U'O',       // 0x48
    U'P',    U'Q',      U'R',     U'S',      U'T',      U'U',      U'V',      U'W',       // 0x50
    U'X',    U'Y',      U'Z',     U'\u00C4', U'\u00D6', U'\u00D1', U'\u00DC', U'\u00A7',  // 0x58
    U'\u00BF', U'a',    U'b',     U'c',      U'd',      U'e',      U'f',      U'g',       // 0x60
    U'h',    U'i',      U'j',     U'k',      U'l',      U'm',      U'n',      U'o',       // 0x68
    U'p',    U'q',      U'r',     U's',      U't',      U'u',      U'v',      U'w',       // 0x70
    U'x',    U'y',      U'z',     U'\u00E4', U'\u00F6', U'\u00F1', U'\u00FC', U'\u00E0',  // 0x78
};

// GSM 03.38 extension table (3GPP TS 23.038 6.2.1.1), the septet after an escape. 0 marks a code
// the table does not define: the spec says to show the default alphabet's character instead.
constexpr std::array<char32_t, 128> kGsmExtension = [] {
  std::array<char32_t, 128> t{};
  t[0x0A] = U'\f';  // form feed (page break)
  t[0x14] = U'^';
  t[0x28] = U'{';
  t[0x29] = U'}';
  t[0x2F] = U'\\';
  t[0x3C] = U'[';
  t[0x3D] = U'~';
  t[0x3E] = U']';
  t[0x40] = U'|';
  t[0x65] = U'\u20AC';  // euro sign
  return t;
}();

// Writes UTF-8 past the end of `out` into room made once for the longest result: a character
// then costs a store or two, where std::string::append would check the capacity and write a
// terminator every time. The string is trimmed to what was written when the writer goes.
class Utf8Writer {
 public:
  Utf8Writer(std::string& out, size_t most_bytes) : out_(out) {
    const size_t at = out.size();
    out.resize(at + most_bytes);
    p_ = out.data() + at;
  }
  ~Utf8Writer() { out_.resize(size_t(p_ - out_.data())); }
  Utf8Writer(const Utf8Writer&) = delete;
  Utf8Writer& operator=(const Utf8Writer&) = delete;

  void put(char32_t c) {
    size_t n = 0;
    U8_APPEND_UNSAFE(p_, n, c);
    p_ += n;
  }
  void put_bytes(const void* bytes, size_t n) {
    std::memcpy(p_, bytes, n);
    p_ += n;
  }
  // Up to four bytes from a table entry: one unaligned store, then the length.
  void put(const std::array<char, 4>& bytes, uint8_t size) {
    std::memcpy(p_, bytes.data(), 4);
    p_ += size;
  }

 private:
  std::string& out_;
  char* p_;
};

// The GSM tables as UTF-8, worked out once: decoding a septet is a table read and a copy.
struct Utf8Char {
  std::array<char, 4> bytes{};
  uint8_t size = 0;
};
constexpr Utf8Char utf8_of(char32_t c) {
  Utf8Char u;
  if (c < 0x80) {
    u.bytes[0] = char(c), u.size = 1;
  } else if (c < 0x800) {
    u.bytes[0] = char(0xC0 | (c >> 6)), u.bytes[1] = char(0x80 | (c & 0x3F)), u.size = 2;
  } else {
    u.bytes[0] = char(0xE0 | (c >> 12)), u.bytes[1] = char(0x80 | ((c >> 6) & 0x3F)), u.bytes[2] = char(0x80 | (c & 0x3F));
    u.size = 3;
  }
  return u;
}
constexpr auto kGsmDefaultUtf8 = [] {
  std::array<Utf8Char, 128> t{};
  for (size_t i = 0; i < 128; ++i) t[i] = utf8_of(kGsmDefault[i]);
  return t;
}();
constexpr auto kGsmExtensionUtf8 = [] {
  std::array<Utf8Char, 128> t{};
  for (size_t i = 0; i < 128; ++i) t[i] = utf8_of(kGsmExtension[i] != 0 ? kGsmExtension[i] : kGsmDefault[i]);
  return t;
}();
constexpr size_t kMostUtf8PerSeptet = 3;  // the euro sign; every other GSM character takes 1 or 2
constexpr size_t kMostUtf8PerByte = 3;    // U+FFFD for a byte that is not ASCII
constexpr size_t kMostUtf8PerUnit = 3;    // a UTF-16 unit: 3 bytes alone, 4 for a pair of them

// Decodes `count` septets, `septet(i)` giving the i-th, through the GSM tables. An escape with no
// septet after it (the message ends on it) becomes U+FFFD.
template <typename Septet>
void decode_gsm7(size_t count, Septet septet, std::string& out) {
  Utf8Writer w(out, count * kMostUtf8PerSeptet);
  for (size_t i = 0; i < count; ++i) {
    uint8_t s = septet(i);
    if (s != kGsmEscape) {
      w.put(kGsmDefaultUtf8[s].bytes, kGsmDefaultUtf8[s].size);
      continue;
    }
    if (++i == count) {
      w.put(kReplacement);
      break;
    }
    uint8_t e = septet(i);
    w.put(kGsmExtensionUtf8[e].bytes, kGsmExtensionUtf8[e].size);
  }
}

// The octets that stand for themselves: GSM septets whose character is the ASCII one of the same
// value (letters, digits, space and most punctuation; not $ @ [ \\ ] ^ _ ` { | } ~).
constexpr auto kSameAsAscii = [] {
  std::array<bool, 256> t{};
  for (size_t b = 0; b < 128; ++b) t[b] = kGsmDefault[b] == char32_t(b) && b != kGsmEscape;
  return t;
}();

void decode_gsm7_unpacked(std::string_view bytes, std::string& out) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  Utf8Writer w(out, n * kMostUtf8PerSeptet);
  for (size_t i = 0; i < n;) {
    // Most of a text is runs of octets that stand for themselves: copied eight at a time.
    if (i + 8 <= n) {
      bool same = true;
      for (size_t k = 0; k < 8; ++k) same &= kSameAsAscii[p[i + k]];
      if (same) {
        w.put_bytes(p + i, 8);
        i += 8;
        continue;
      }
    }
    // One septet per octet; the top bit is not part of the alphabet and is ignored.
    const uint8_t s = p[i++] & 0x7F;
    if (s != kGsmEscape) {
      w.put(kGsmDefaultUtf8[s].bytes, kGsmDefaultUtf8[s].size);
    } else if (i == n) {
      w.put(kReplacement);  // an escape with nothing after it
    } else {
      const uint8_t e = p[i++] & 0x7F;
      w.put(kGsmExtensionUtf8[e].bytes, kGsmExtensionUtf8[e].size);
    }
  }
}

// Packed: septets laid LSB first across the octets (3GPP TS 23.038 6.1.2.1). SMPP gives a length
// in octets, not septets, so all length*8/7 complete septets are decoded, except one case: when
// length is a multiple of 7 the last septet may be the 7 fill bits of the final octet, which a
// sender leaves 0 (read as '@') or, per 23.038 6.1.2.1.1, sets to CR. A last septet of 0x00 or
// 0x0D there is dropped. (A real '@' ending an 8n-septet text is lost with it; a real final CR
// would have been doubled by the sender, as the spec asks.)
// The text starts at septet `first`: after a header, the first septet boundary past it.
void decode_gsm7_packed(std::string_view bytes, size_t first, std::string& out) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t len = bytes.size();
  auto septet = [&](size_t i) {
    size_t bit = (first + i) * 7, byte = bit / 8, shift = bit % 8;
    unsigned v = p[byte] >> shift;
    if (shift > 1 && byte + 1 < len) v |= static_cast<unsigned>(p[byte + 1]) << (8 - shift);
    return static_cast<uint8_t>(v & 0x7F);
  };
  size_t count = len * 8 / 7;
  count = count > first ? count - first : 0;
  if (count > 0 && len % 7 == 0) {
    uint8_t last = septet(count - 1);
    if (last == 0x00 || last == 0x0D) --count;
  }
  decode_gsm7(count, septet, out);
}

void decode_ascii(std::string_view bytes, std::string& out) {
  Utf8Writer w(out, bytes.size() * kMostUtf8PerByte);
  for (char ch : bytes) {
    auto b = static_cast<uint8_t>(ch);
    w.put(b < 0x80 ? char32_t(b) : kReplacement);
  }
}

void decode_latin1(std::string_view bytes, std::string& out) {
  Utf8Writer w(out, bytes.size() * kMostUtf8PerByte);
  for (char ch : bytes) w.put(static_cast<uint8_t>(ch));
}

// UCS-2 as UTF-16BE: a lead surrogate followed by a trail makes one code point; any other
// surrogate, and an odd trailing byte, is U+FFFD.
void decode_utf16be(std::string_view bytes, std::string& out) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t units = bytes.size() / 2;
  auto unit = [&](size_t i) { return static_cast<char16_t>(p[2 * i] << 8 | p[2 * i + 1]); };
  Utf8Writer w(out, (units + 1) * kMostUtf8PerUnit);
  for (size_t i = 0; i < units; ++i) {
    char16_t u = unit(i);
    if (!U16_IS_SURROGATE(u)) {
      w.put(u);
    } else if (U16_IS_SURROGATE_LEAD(u) && i + 1 < units && U16_IS_TRAIL(unit(i + 1))) {
      w.put(static_cast<char32_t>(U16_GET_SUPPLEMENTARY(u, unit(i + 1))));
      ++i;
    } else {
      w.put(kReplacement);
    }
  }
  if (bytes.size() % 2 != 0) w.put(kReplacement);
}

}  // namespace

bool decode_text(uint8_t data_coding, std::string_view bytes, const TextOptions& options, std::string& out,
                 size_t header_octets) {
  header_octets = std::min(header_octets, bytes.size());
  const bool packed = data_coding == 0 && options.smsc_default == DefaultAlphabet::gsm7 && options.gsm7_packed;
  if (packed) {
    decode_gsm7_packed(bytes, (header_octets * 8 + 6) / 7, out);
    return true;
  }
  bytes.remove_prefix(header_octets);
  switch (data_coding) {
    case 0:
      switch (options.smsc_default) {
        case DefaultAlphabet::gsm7:
          decode_gsm7_unpacked(bytes, out);
          return true;
        case DefaultAlphabet::ascii:
          decode_ascii(bytes, out);
          return true;
        case DefaultAlphabet::latin1:
          decode_latin1(bytes, out);
          return true;
      }
      return false;
    case 1:
      decode_ascii(bytes, out);
      return true;
    case 3:
      decode_latin1(bytes, out);
      return true;
    case 8:
      decode_utf16be(bytes, out);
      return true;
    default:
      return false;
  }
}

std::optional<UserDataHeader> parse_udh(std::string_view short_message) {
  const auto* p = reinterpret_cast<const uint8_t*>(short_message.data());
  if (short_message.empty()) return std::nullopt;
  const size_t end = 1 + size_t{p[0]};  // the UDH: UDHL octet, then UDHL octets of IEs
  if (end > short_message.size()) return std::nullopt;
  UserDataHeader udh;
  udh.length = end;
  size_t i = 1;
  while (i < end) {
    if (end - i < 2) return std::nullopt;  // an IE needs its identifier and length octets
    const uint8_t iei = p[i], ie_len = p[i + 1];
    const uint8_t* data = p + i + 2;
    if (ie_len > end - i - 2) return std::nullopt;
    if (iei == 0x00 || iei == 0x08) {
      // 8-bit reference (length 3) or 16-bit reference (length 4), then total and sequence. If an
      // IE repeats, 23.040 9.2.3.24 says to use the last occurrence.
      const size_t want = iei == 0x00 ? 3 : 4;
      if (ie_len != want) return std::nullopt;
      Concatenation c;
      c.reference = iei == 0x00 ? data[0] : static_cast<uint16_t>(data[0] << 8 | data[1]);
      c.total = data[want - 2];
      c.sequence = data[want - 1];
      if (c.total == 0 || c.sequence == 0 || c.sequence > c.total) return std::nullopt;
      udh.concatenation = c;
    }
    i += 2 + size_t{ie_len};
  }
  return udh;
}

namespace {

// The septets of `c` in GSM 7-bit: one from the default alphabet, or an escape and one from the
// extension table; 0 if it has none. (The default alphabet's 0x1B is the escape, not NBSP.)
size_t gsm7_septets(char32_t c, uint8_t septets[2]) {
  for (size_t i = 0; i < kGsmDefault.size(); ++i)
    if (kGsmDefault[i] == c && i != kGsmEscape) {
      septets[0] = uint8_t(i);
      return 1;
    }
  for (size_t i = 0; i < kGsmExtension.size(); ++i)
    if (kGsmExtension[i] == c && c != 0) {
      septets[0] = kGsmEscape;
      septets[1] = uint8_t(i);
      return 2;
    }
  return 0;
}

// Septets laid LSB first across the octets (3GPP TS 23.038 6.1.2.1); the fill bits stay 0.
std::string pack_septets(std::string_view septets) {
  std::string out((septets.size() * 7 + 7) / 8, '\0');
  for (size_t i = 0; i < septets.size(); ++i) {
    const size_t bit = i * 7, byte = bit / 8, shift = bit % 8;
    const unsigned v = static_cast<uint8_t>(septets[i]) & 0x7F;
    out[byte] = char(static_cast<uint8_t>(out[byte]) | (v << shift));
    if (shift > 1) out[byte + 1] = char(static_cast<uint8_t>(out[byte + 1]) | (v >> (8 - shift)));
  }
  return out;
}

}  // namespace

bool encode_default_alphabet(std::string_view utf8, const TextOptions& options, std::string& out, size_t& characters) {
  out.clear();
  characters = 0;
  int32_t i = 0, length = int32_t(utf8.size());
  const auto* s = reinterpret_cast<const uint8_t*>(utf8.data());
  while (i < length) {
    UChar32 c;
    U8_NEXT(s, i, length, c);
    uint8_t septets[2];
    const size_t n = c < 0 ? 0 : gsm7_septets(char32_t(c), septets);
    if (n == 0) return false;
    characters += n;
    switch (options.smsc_default) {
      case DefaultAlphabet::gsm7: out.append(reinterpret_cast<const char*>(septets), n); break;
      case DefaultAlphabet::ascii:
        if (c >= 0x80) return false;
        out.push_back(char(c));
        break;
      case DefaultAlphabet::latin1:
        if (c >= 0x100) return false;
        out.push_back(char(c));
        break;
    }
  }
  if (options.smsc_default == DefaultAlphabet::gsm7 && options.gsm7_packed) out = pack_septets(out);
  return true;
}

void encode_ucs2(std::string_view utf8, std::string& out) {
  out.clear();
  int32_t i = 0, length = int32_t(utf8.size());
  const auto* s = reinterpret_cast<const uint8_t*>(utf8.data());
  while (i < length) {
    UChar32 c;
    U8_NEXT(s, i, length, c);
    if (c < 0) c = 0xFFFD;
    UChar units[2];
    int32_t n = 0;
    U16_APPEND_UNSAFE(units, n, c);
    for (int32_t k = 0; k < n; ++k) {
      out.push_back(char(units[k] >> 8));
      out.push_back(char(units[k] & 0xFF));
    }
  }
}

}  // namespace smpp
