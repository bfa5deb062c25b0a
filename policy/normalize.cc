// Text folding for content rules: one pass over the code points, no heap use of its own once the
// output has grown (and a table built on first use, below).
//
// Each code point goes through, in order:
//   1. dropped if it is a mark (Mn, Me), a format control (Cf: zero-width space/joiners, LRM/RLM,
//      bidi embeddings and isolates, BOM, ALM, soft hyphen), tatweel, or an Arabic harakat or
//      Quranic mark (U+064B-065F, U+0670, U+06D6-06ED, whatever their category);
//   2. otherwise replaced by its ICU "nfkc_cf" decomposition (NFKD with case folding), done on
//      the one code point into a stack buffer: fullwidth and presentation forms and ligatures
//      become base letters, upper case becomes folded lower case, and precomposed letters split
//      into base + marks, which step 1 then drops (أ -> ا + hamza above -> ا; é -> e). The
//      decomposed rather than composed form is used so that "é" and "e" + U+0301 fold alike;
//   3. each code point that comes out goes through step 1 again, then the Arabic letter table,
//      decimal digits of any script to ASCII, and the Latin look-alike table;
//   4. letters, numbers and spacing marks (Mc, so Indic words are not split) are kept; every run
//      of anything else (whitespace, punctuation, symbols, emoji, U+FFFD) becomes one space, with
//      none at the start or end.
// So "D.i.s.c.o.u.n.t" becomes "d i s c o u n t": the policy matches keywords against this form
// and against its squeeze_spaces() copy ("discount"), which catches letters spread apart.
#include "policy/normalize.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <utility>

namespace policy {
namespace {

// The "nfkc_cf" data in decompose mode: NFKD plus NFKC_Casefold's folding and removal of
// default-ignorable code points. nullptr if the ICU data is missing (then only steps 1, 3, 4).
const UNormalizer2* nfkd_casefold() {
  static const UNormalizer2* const instance = [] {
    UErrorCode error = U_ZERO_ERROR;
    const UNormalizer2* n = unorm2_getInstance(nullptr, "nfkc_cf", UNORM2_DECOMPOSE, &error);
    return U_SUCCESS(error) ? n : nullptr;
  }();
  return instance;
}

bool dropped(UChar32 c) {
  if (c < 0xAD) return false;  // fast path: nothing below the soft hyphen is dropped
  if (c == 0x0640 || (c >= 0x064B && c <= 0x065F) || c == 0x0670 || (c >= 0x06D6 && c <= 0x06ED))
    return true;
  return (U_GET_GC_MASK(c) & (U_GC_MN_MASK | U_GC_ME_MASK | U_GC_CF_MASK)) != 0;
}

UChar32 fold_arabic(UChar32 c) {
  switch (c) {
    case 0x0622:  // آ alef with madda above
    case 0x0623:  // أ alef with hamza above
    case 0x0625:  // إ alef with hamza below
    case 0x0671:  // ٱ alef wasla
      return 0x0627;  // ا
    case 0x0649:  // ى alef maksura
    case 0x0626:  // ئ yeh with hamza above
    case 0x06CC:  // ی Farsi yeh
      return 0x064A;  // ي
    case 0x0629:  // ة taa marbuta
      return 0x0647;  // ه
    case 0x0624:  // ؤ waw with hamza above
      return 0x0648;  // و
    case 0x06A9:  // ک keheh
      return 0x0643;  // ك
    default:
      return c;
  }
}

// Latin look-alikes, as they are after case folding:
//   Cyrillic  а->a  в->b  е->e  к->k  м->m  н->h  о->o  р->p  с->c  т->t  у->y  х->x
//             і->i  ј->j  ѕ->s  һ->h  ԁ->d
//   Greek     α->a  ε->e  ι->i  κ->k  ν->v  ο->o  ρ->p  τ->t  υ->u  χ->x
//   Latin     ı (dotless i)->i
// (в м н т look like their Latin letters in upper case, В М Н Т.) Sorted, for the binary search.
constexpr std::array<std::pair<char16_t, char>, 28> kLookAlikes = {{
    {0x0131, 'i'},  // ı
    {0x03B1, 'a'}, {0x03B5, 'e'}, {0x03B9, 'i'}, {0x03BA, 'k'}, {0x03BD, 'v'},
    {0x03BF, 'o'}, {0x03C1, 'p'}, {0x03C4, 't'}, {0x03C5, 'u'}, {0x03C7, 'x'},
    {0x0430, 'a'}, {0x0432, 'b'}, {0x0435, 'e'}, {0x043A, 'k'}, {0x043C, 'm'},
    {0x043D, 'h'}, {0x043E, 'o'}, {0x0440, 'p'}, {0x0441, 'c'}, {0x0442, 't'},
    {0x0443, 'y'}, {0x0445, 'x'}, {0x0455, 's'}, {0x0456, 'i'}, {0x0458, 'j'},
    {0x04BB, 'h'}, {0x0501, 'd'},
}};
static_assert([] {
  for (size_t i = 1; i < kLookAlikes.size(); ++i)
    if (kLookAlikes[i - 1].first >= kLookAlikes[i].first) return false;
  return true;
}());

UChar32 fold_look_alike(UChar32 c) {
  if (c < kLookAlikes.front().first || c > kLookAlikes.back().first) return c;
  size_t lo = 0, hi = kLookAlikes.size();
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (kLookAlikes[mid].first < c)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < kLookAlikes.size() && kLookAlikes[lo].first == c ? kLookAlikes[lo].second : c;
}

// What folding one code point gives: the bytes it keeps, and ' ' where it has a gap (folding
// never keeps a space, so ' ' is free to mean that).
struct Folded {
  size_t size = 0;
  char bytes[96];  // the longest: U+FDFA, 18 code points of at most four bytes each

  void keep(char c) { bytes[size++] = c; }
  void gap() { bytes[size++] = ' '; }
};

// Steps 1 to 4 for one code point of the input. What it gives depends on the code point alone,
// which is what lets the cache below stand in for it.
class Folder {
 public:
  explicit Folder(Folded& out) : out_(out) {}

  // Steps 3 and 4 for a code point already through normalisation.
  void emit(UChar32 c) {
    if (c < 0x80) return emit_ascii(static_cast<char>(c));
    if (dropped(c)) return;
    c = fold_arabic(c);
    const uint32_t gc = U_GET_GC_MASK(c);
    if (gc & U_GC_ND_MASK) return emit_ascii(static_cast<char>('0' + u_charDigitValue(c)));
    c = fold_look_alike(c);
    if (c < 0x80) return emit_ascii(static_cast<char>(c));
    if (!(gc & (U_GC_L_MASK | U_GC_N_MASK | U_GC_MC_MASK))) return out_.gap();
    char buf[U8_MAX_LENGTH];
    size_t n = 0;
    U8_APPEND_UNSAFE(buf, n, c);
    for (size_t i = 0; i < n; ++i) out_.keep(buf[i]);
  }

  // Steps 1 to 4 for a code point of the input.
  void fold(UChar32 c) {
    if (c < 0x80) return emit_ascii(static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c));
    if (dropped(c)) return;
    const UNormalizer2* n = nfkd_casefold();
    if (n == nullptr || unorm2_isInert(n, c)) return emit(c);
    UChar src[2];
    int32_t src_len = 0;
    U16_APPEND_UNSAFE(src, src_len, c);
    UChar dest[32];  // the longest NFKD expansion is 18 code units (U+FDFA)
    UErrorCode error = U_ZERO_ERROR;
    int32_t len = unorm2_normalize(n, src, src_len, dest, static_cast<int32_t>(std::size(dest)), &error);
    if (U_FAILURE(error)) return emit(c);
    for (int32_t i = 0; i < len;) {
      UChar32 d;
      U16_NEXT(dest, i, len, d);
      emit(d);
    }
  }

 private:
  void emit_ascii(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out_.keep(c);
    else if (c >= 'A' && c <= 'Z') out_.keep(static_cast<char>(c + ('a' - 'A')));  // out of a decomposition
    else out_.gap();
  }

  Folded& out_;
};

Folded fold(UChar32 c) {
  Folded folded;
  Folder(folded).fold(c);
  return folded;
}

// Folding asks ICU several questions per character. ASCII, and the Arabic, Latin, Greek and
// Cyrillic letters (the two-byte code points up to U+07FF), are folded once, on first use, into
// this table, which the loop below reads instead. A code point that folds into letters and gaps
// mixed, or into more than kCachedBytes, is folded each time (½ -> "1 2", rare).
constexpr size_t kCachedBytes = 7;
struct CachedFold {
  char bytes[8] = {};  // the letters it keeps, kCachedBytes at most
  uint8_t size = 0;    // 0: nothing kept (dropped, or a gap)
  bool gap = false;    // a gap: whitespace, punctuation, a symbol
  bool fold_each_time = false;
};
constexpr UChar32 kLastCached = 0x7FF;

const std::array<CachedFold, kLastCached + 1>& cached_folds() {
  static const auto table = [] {
    std::array<CachedFold, kLastCached + 1> t{};
    for (UChar32 c = 0; c <= kLastCached; ++c) {
      const Folded folded = fold(c);
      const std::string_view bytes(folded.bytes, folded.size);
      CachedFold& f = t[size_t(c)];
      if (bytes == " ") f.gap = true;
      else if (bytes.find(' ') != std::string_view::npos || bytes.size() > kCachedBytes) f.fold_each_time = true;
      else f.size = uint8_t(bytes.size()), std::copy(bytes.begin(), bytes.end(), f.bytes);
      assert(c >= 0x80 || (f.size == 1) != f.gap);  // the ASCII blocks below rely on it
    }
    return t;
  }();
  return table;
}

// The normalised text, and with `Squeezed` the same without spaces, written together.
template <bool Squeezed>
void fold_text(std::string_view text, std::string& out, std::string* squeezed_out) {
  constexpr size_t kRoom = sizeof(Folded::bytes) + 1;  // the most one code point writes
  const auto& cached = cached_folds();
  // The loop works on local pointers into each output's whole capacity, trimmed at the end: a
  // character costs a store, where push_back would check the capacity and write a terminator.
  // Both outputs have one size, and the squeezed one is never the longer: checking the room
  // left in the normalised one is enough.
  size_t size = std::max(out.capacity(), 2 * kRoom);
  if constexpr (Squeezed) size = std::max(size, squeezed_out->capacity());
  out.resize(size);
  char* begin = out.data();
  char* p = begin;
  char* end = begin + size;
  char* q = nullptr;
  if constexpr (Squeezed) {
    squeezed_out->resize(size);
    q = squeezed_out->data();
  }
  bool gap = false;  // whitespace, punctuation or symbols seen since the last kept character
  auto keep = [&](char c) {
    if (gap && p != begin) *p++ = ' ';
    gap = false;
    *p++ = c;
    if constexpr (Squeezed) *q++ = c;
  };
  auto replay = [&](const Folded& folded) {
    for (size_t k = 0; k < folded.size; ++k) {
      if (folded.bytes[k] == ' ') gap = true;
      else keep(folded.bytes[k]);
    }
  };

  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t length = text.size();
  for (size_t i = 0; i < length;) {
    if (size_t(end - p) < kRoom) {
      const size_t used = size_t(p - begin);
      out.resize(2 * out.size());
      begin = out.data();
      p = begin + used;
      end = begin + out.size();
      if constexpr (Squeezed) {
        const size_t squeezed = size_t(q - squeezed_out->data());
        squeezed_out->resize(out.size());
        q = squeezed_out->data() + squeezed;
      }
    }
    // Eight ASCII bytes at a time while there are: most of a Latin text, the spaces and digits
    // of an Arabic one.
    uint64_t block;
    if (length - i >= 8 && (std::memcpy(&block, s + i, 8), (block & 0x8080808080808080ull) == 0)) {
      for (int k = 0; k < 8; ++k) {
        const CachedFold& f = cached[(block >> (8 * k)) & 0x7F];  // ASCII folds to one letter or a gap
        const bool letter = f.size != 0;
        *p = ' ';
        p += letter & gap & (p != begin);
        *p = f.bytes[0];
        p += letter;
        if constexpr (Squeezed) {
          *q = f.bytes[0];
          q += letter;
        }
        gap = (gap & !letter) | f.gap;
      }
      i += 8;
      continue;
    }
    // ASCII, or a well-formed two-byte sequence (C0 and C1 would be overlong): from the table.
    const uint8_t lead = s[i];
    const uint8_t next = i + 1 < length ? s[i + 1] : 0;
    const bool ascii = lead < 0x80;
    if (!ascii && !(lead >= 0xC2 && lead <= 0xDF && (next & 0xC0) == 0x80)) {
      UChar32 c;
      U8_NEXT_OR_FFFD(s, i, length, c);
      replay(fold(c));
      continue;
    }
    const UChar32 c = ascii ? lead : UChar32((lead & 0x1F) << 6 | (next & 0x3F));
    i += ascii ? 1 : 2;
    const CachedFold& f = cached[size_t(c)];
    if (f.fold_each_time) {
      replay(fold(c));
      continue;
    }
    // Without branches, which text makes unpredictable: a space first if letters follow a gap,
    // then the letters (none, for a gap or a dropped mark).
    const bool letters = f.size != 0;
    *p = ' ';
    p += letters & gap & (p != begin);
    std::memcpy(p, f.bytes, sizeof f.bytes);
    p += f.size;
    if constexpr (Squeezed) {
      std::memcpy(q, f.bytes, sizeof f.bytes);
      q += f.size;
    }
    gap = (gap & !letters) | f.gap;
  }
  out.resize(size_t(p - begin));
  if constexpr (Squeezed) squeezed_out->resize(size_t(q - squeezed_out->data()));
}

}  // namespace

void normalize_for_matching(std::string_view text, std::string& out) { fold_text<false>(text, out, nullptr); }

void normalize_and_squeeze(std::string_view text, std::string& normalized, std::string& squeezed) {
  fold_text<true>(text, normalized, &squeezed);
}

void join_spelled_out(std::string_view normalized, std::string& out) {
  out.resize(normalized.size());  // never longer
  const char* p = normalized.data();
  const char* const end = p + normalized.size();
  char* o = out.data();
  char* const begin = o;
  bool previous_single = false;
  while (p < end) {
    const char* word = p;
    size_t letters = 0;
    for (; p < end && *p != ' '; ++p) letters += (static_cast<unsigned char>(*p) & 0xC0) != 0x80;
    const bool single = letters == 1;
    if (o != begin && !(single && previous_single)) *o++ = ' ';
    std::memcpy(o, word, size_t(p - word));
    o += p - word;
    previous_single = single;
    ++p;  // the space
  }
  out.resize(size_t(o - begin));
}

void squeeze_spaces(std::string_view normalized, std::string& out) {
  out.resize(normalized.size());
  char* o = out.data();
  for (char c : normalized) {
    *o = c;
    o += c != ' ';
  }
  out.resize(size_t(o - out.data()));
}

}  // namespace policy
