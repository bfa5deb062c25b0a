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
// every run of whitespace or punctuation becomes one space. Invalid UTF-8 is read as U+FFFD,
// a symbol, so it too becomes a space. No heap allocation once `out` has the capacity.
void normalize_for_matching(std::string_view text, std::string& out);

// Writes into `out` (cleared first) `normalized` with letters spelled out one by one ("d i s c o u n t",
// "خ ص م") joined back into a word; other words keep their spaces ("a b" stays apart only when a run
// is a single letter). Keywords are matched word by word against this form.
void join_spelled_out(std::string_view normalized, std::string& out);

// Writes into `out` (cleared first) `normalized` without its spaces: the second form keywords are
// matched against, which catches letters spread apart ("d i s c o u n t").
void squeeze_spaces(std::string_view normalized, std::string& out);

// normalize_for_matching(), and squeeze_spaces() of the result, in one pass.
void normalize_and_squeeze(std::string_view text, std::string& normalized, std::string& squeezed);

}  // namespace policy
