// Text folding for content rules: one pass over the code points, no heap use of its own.
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

#include <array>
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

class Folder {
 public:
  explicit Folder(std::string& out) : out_(out) {}

  // Steps 3 and 4 for a code point already through normalisation.
  void emit(UChar32 c) {
    if (c < 0x80) return emit_ascii(static_cast<char>(c));
    if (dropped(c)) return;
    c = fold_arabic(c);
    const uint32_t gc = U_GET_GC_MASK(c);
    if (gc & U_GC_ND_MASK) return emit_ascii(static_cast<char>('0' + u_charDigitValue(c)));
    c = fold_look_alike(c);
    if (c < 0x80) return emit_ascii(static_cast<char>(c));
    if (!(gc & (U_GC_L_MASK | U_GC_N_MASK | U_GC_MC_MASK))) {
      gap_ = true;
      return;
    }
    start_word();
    char buf[U8_MAX_LENGTH];
    size_t n = 0;
    U8_APPEND_UNSAFE(buf, n, c);
    out_.append(buf, n);
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
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      start_word();
      out_.push_back(c);
    } else if (c >= 'A' && c <= 'Z') {  // an upper-case letter out of a decomposition
      start_word();
      out_.push_back(static_cast<char>(c + ('a' - 'A')));
    } else {
      gap_ = true;
    }
  }

  void start_word() {
    if (gap_ && !out_.empty()) out_.push_back(' ');
    gap_ = false;
  }

  std::string& out_;
  bool gap_ = false;  // whitespace, punctuation or symbols seen since the last kept character
};

}  // namespace

void normalize_for_matching(std::string_view text, std::string& out) {
  out.clear();
  Folder folder(out);
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t length = text.size();
  for (size_t i = 0; i < length;) {
    UChar32 c;
    U8_NEXT_OR_FFFD(s, i, length, c);
    folder.fold(c);
  }
}

void squeeze_spaces(std::string_view normalized, std::string& out) {
  out.clear();
  for (char c : normalized)
    if (c != ' ') out.push_back(c);
}

}  // namespace policy
