// Text folding for content rules, so that spelling tricks do not evade a keyword filter.
#pragma once

#include <string>
#include <string_view>

namespace policy {

// Writes into `out` (cleared first) a folded form of UTF-8 `text`, in which equal-looking words
// compare equal: Unicode NFKC with case folding (ICU); Arabic diacritics (harakat, shadda,
// sukun, superscript alef), tatweel and Quranic marks removed; alef forms (أ إ آ ٱ) to ا, alef
// maksura ى to ي, taa marbuta ة to ه, hamza on waw/yaa (ؤ ئ) to و/ي; zero-width and bidi
// controls removed; Latin look-alikes from Cyrillic and Greek mapped to their Latin letters;
// every run of whitespace or punctuation becomes one space. Invalid UTF-8 becomes U+FFFD.
// No heap allocation once `out` has the capacity.
void normalize_for_matching(std::string_view text, std::string& out);

}  // namespace policy
