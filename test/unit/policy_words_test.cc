// The word lists of the content rules (policy/words.h): where an entry is found and where it is not.
#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "policy/words.h"

namespace {

// One list (bit 0) with `entries`; true if one of them is in `text`.
bool found(std::initializer_list<std::string_view> entries, std::string_view text) {
  policy::WordLists lists;
  for (auto e : entries) lists.add(0, e);
  policy::FoldedText folded;
  folded.fold(text);
  return lists.found(folded) == 1;
}

}  // namespace

TEST_CASE("words: a short word is found at the start, in the middle, at the end and alone") {
  CHECK(found({"sale"}, "sale today"));
  CHECK(found({"sale"}, "big sale today"));
  CHECK(found({"sale"}, "today only: SALE!"));
  CHECK(found({"sale"}, "sale"));
  CHECK(found({"عرض"}, "عرض"));
  CHECK(found({"عرض"}, "لدينا عرض اليوم"));
  CHECK_FALSE(found({"sale"}, ""));
  CHECK_FALSE(found({"sale"}, "nothing here"));
}

TEST_CASE("words: a short word is found whole, not inside another word") {
  CHECK_FALSE(found({"sale"}, "wholesale prices"));
  CHECK_FALSE(found({"sale"}, "salesman"));
  CHECK_FALSE(found({"عرض"}, "زوروا المعرض"));  // عرض "offer" is not in معرض "exhibition"
  CHECK_FALSE(found({"pin"}, "spinning"));
}

TEST_CASE("words: Latin plural endings s and es") {
  CHECK(found({"sale"}, "sales start now"));
  CHECK(found({"deal"}, "best deals"));
  CHECK(found({"box"}, "gift boxes"));
  CHECK_FALSE(found({"sale"}, "saled"));
  CHECK_FALSE(found({"sale"}, "s es"));  // endings alone are not the word
}

TEST_CASE("words: Arabic proclitics and plural endings") {
  CHECK(found({"عرض"}, "العرض ساري"));     // ال
  CHECK(found({"عرض"}, "وعرض اخر"));       // و
  CHECK(found({"عرض"}, "بالعرض الجديد"));  // بال
  CHECK(found({"عروض"}, "والعروض كثيرة"));  // وال
  CHECK(found({"هدية"}, "الهديه"));        // ال, and ة folds to ه
  CHECK_FALSE(found({"هدية"}, "هديتها"));  // ها, but هديت is not هديه
  CHECK(found({"خصم"}, "خصمها"));          // ها
  CHECK(found({"خصم"}, "بخصمات"));         // ب and ات
  CHECK_FALSE(found({"خصم"}, "استخصم"));   // است is not a proclitic
  CHECK_FALSE(found({"خصم"}, "خصمكم"));    // كم is not an ending
}

TEST_CASE("words: a word in Latin letters takes an Arabic ending only after a proclitic") {
  CHECK(found({"pin"}, "وpin"));
  CHECK(found({"pin"}, "وpinات"));
  CHECK_FALSE(found({"pin"}, "pinات"));  // read as a Latin word: only s and es
}

TEST_CASE("words: Arabic spelling variants fold alike (diacritics, alef forms, taa marbuta, tatweel)") {
  CHECK(found({"هدية"}, "هديه مجانيه"));
  CHECK(found({"هديه"}, "هدية"));
  CHECK(found({"خصم"}, "خَصْم"));
  CHECK(found({"خصم"}, "خــصـم"));
  CHECK(found({"أوكازيون"}, "اوكازيون الصيف"));
  CHECK(found({"اوكازيون"}, "أوكازيون"));
  CHECK(found({"عرض"}, "ﻋﺮﺽ"));  // presentation forms
}

TEST_CASE("words: an entry of five letters or more is found anywhere, spaces and punctuation ignored") {
  CHECK(found({"discount"}, "D.i.s.c.o.u.n.t today"));
  CHECK(found({"discount"}, "megadiscounts"));
  CHECK(found({"discount"}, "dis count"));
  CHECK(found({"تخفيضات"}, "ت خ ف ي ض ا ت"));
  CHECK(found({"limited time"}, "for a limitedtime only"));
  CHECK_FALSE(found({"discount"}, "discoun"));
  CHECK_FALSE(found({"discount"}, "dis coun"));
  CHECK(found({"discount"}, "dis coun ter"));  // "discounter" has it
}

TEST_CASE("words: a short phrase is found as whole words only") {
  CHECK(found({"ab cd"}, "ab cd"));
  CHECK(found({"ab cd"}, "xy ab cd zz"));
  CHECK_FALSE(found({"ab cd"}, "xab cd"));
  CHECK_FALSE(found({"ab cd"}, "ab cde"));
  CHECK_FALSE(found({"ab cd"}, "abcd"));
}

TEST_CASE("words: spelled-out letters are joined into a word") {
  CHECK(found({"pin"}, "your p i n is 1234"));
  CHECK(found({"خصم"}, "خ ص م"));
}

TEST_CASE("words: each list has its own bit; overlapping entries are all found") {
  policy::WordLists lists;
  lists.add(0, "discount");
  lists.add(1, "counter");   // overlaps "discount" in "discounter"
  lists.add(2, "code");
  lists.add(3, "code");      // one word in two lists
  lists.add(4, "nowhere");
  lists.add(5, "");          // an empty entry is no entry
  policy::FoldedText text;
  text.fold("The discounter code");
  CHECK(lists.found(text) == 0b01111);
  text.fold("");
  CHECK(lists.found(text) == 0);
  CHECK_FALSE(lists.empty());
  CHECK(policy::WordLists().empty());
}

TEST_CASE("words: FoldedText holds the three forms, as the separate functions give them") {
  for (std::string_view text : {"", "  ", "D.i.s.c.o.u.n.t now", "a b cd e f g", "خ ص م كبير ج د", "x", "ab",
                                "1 2 3 4 code", "ｄｉｓｃｏｕｎｔ 😀 ﷺ ok", "dis\xFF" "count \xC3", "é e\u0301 k"}) {
    policy::FoldedText folded;
    folded.fold(text);
    std::string normalized, joined, squeezed;
    policy::normalize_for_matching(text, normalized);
    policy::join_spelled_out(normalized, joined);
    policy::squeeze_spaces(normalized, squeezed);
    INFO(text);
    CHECK(folded.spaced() == normalized);
    CHECK(folded.joined() == joined);
    CHECK(folded.squeezed() == squeezed);
  }
}

TEST_CASE("words: FoldedText grows its buffers for a long text and keeps them") {
  std::string text;
  for (int i = 0; i < 300; ++i) text += i % 3 ? "x y z ﷺ خصم " : "DISCOUNT, ";  // ﷺ folds to 18 letters
  policy::FoldedText folded;
  folded.fold(text);
  std::string normalized, joined, squeezed;
  policy::normalize_for_matching(text, normalized);
  policy::join_spelled_out(normalized, joined);
  policy::squeeze_spaces(normalized, squeezed);
  CHECK(folded.spaced() == normalized);
  CHECK(folded.joined() == joined);
  CHECK(folded.squeezed() == squeezed);
  const char* buffer = folded.joined().data();
  folded.fold("a b c");
  CHECK(folded.joined() == "abc");
  CHECK(folded.joined().data() == buffer);
}

// The matching rule written out plainly, the way the policy once did it: a word of the joined text
// stripped of a proclitic (Arabic words only) and an ending, phrases at word boundaries, and long
// entries anywhere in the squeezed text. WordLists must agree with it on every text.
namespace {

struct Reference {
  std::set<std::string> words;
  std::vector<std::string> phrases, squeezed;

  void add(std::string_view raw) {
    std::string normalized, joined, without_spaces;
    policy::normalize_for_matching(raw, normalized);
    policy::join_spelled_out(normalized, joined);
    policy::squeeze_spaces(normalized, without_spaces);
    if (joined.empty()) return;
    if (joined.find(' ') == std::string::npos) words.insert(joined);
    else phrases.push_back(joined);
    size_t letters = 0;
    for (unsigned char c : without_spaces) letters += (c & 0xC0) != 0x80;
    if (letters >= 5) squeezed.push_back(without_spaces);
  }

  bool word_in(std::string_view word) const {
    auto with = [&](std::string_view rest, std::initializer_list<std::string_view> endings) {
      for (std::string_view s : endings)
        if (rest.size() > s.size() && rest.ends_with(s) && words.count(std::string(rest.substr(0, rest.size() - s.size()))))
          return true;
      return false;
    };
    unsigned char lead = static_cast<unsigned char>(word[0]);
    if (lead < 0xD8 || lead > 0xDB) return with(word, {"", "s", "es"});
    for (std::string_view p : {"", "ال", "و", "ب", "ل", "ف", "ك", "وال", "بال", "لل", "فال", "كال", "وب", "ول"})
      if (word.starts_with(p) && with(word.substr(p.size()), {"", "ات", "ها", "هم", "نا"})) return true;
    return false;
  }

  bool found_in(const policy::FoldedText& t) const {
    std::string_view joined = t.joined();
    for (size_t i = 0; i <= joined.size();) {
      size_t end = joined.find(' ', i);
      if (end == std::string_view::npos) end = joined.size();
      if (end > i && word_in(joined.substr(i, end - i))) return true;
      i = end + 1;
    }
    for (const auto& phrase : phrases)
      for (size_t at = joined.find(phrase); at != std::string_view::npos; at = joined.find(phrase, at + 1))
        if ((at == 0 || joined[at - 1] == ' ') && (at + phrase.size() == joined.size() || joined[at + phrase.size()] == ' '))
          return true;
    for (const auto& s : squeezed)
      if (t.squeezed().find(s) != std::string::npos) return true;
    return false;
  }
};

}  // namespace

TEST_CASE("words: WordLists agrees with the plain matching rule on generated texts") {
  const std::vector<std::string> entries = {"sale", "deal", "pin", "code", "otp", "discount", "limited time", "buy one",
                                            "ab cd", "x y", "عرض", "خصم", "هدية", "عروض", "رمز", "كلمة المرور",
                                            "تخفيضات", "دفع", "a", "لل", "وال", "نا", "es"};
  // Pieces texts are made of: the entries and parts of them, affixes, separators, other words.
  const std::vector<std::string> pieces = {"sale", "sales", "deal", "deales", "pin", "p", "i", "n", "code", "codes",
                                           "otp", "dis", "count", "discount", "limited", "time", "buy", "one", "ab",
                                           "cd", "x", "y", "عرض", "خصم", "هدية", "هديه", "عروض", "رمز", "كلمة",
                                           "المرور", "تخفيض", "ات", "دفع", "ال", "و", "ب", "ل", "وال", "بال", "ها",
                                           "نا", "هم", "s", "es", "a", "معرض", "خ", "ص", "م", " ", " ", " ", ".", "-",
                                           "!", "\u064E", "ـ", "1234", "wholesale", "é"};
  std::mt19937 rng(20261130);
  for (int round = 0; round < 60; ++round) {
    // A random selection of entries, spread over four lists.
    policy::WordLists lists;
    std::array<Reference, 4> reference;
    for (const auto& e : entries)
      if (rng() % 3 == 0) {
        unsigned list = rng() % 4;
        lists.add(list, e);
        reference[list].add(e);
      }
    for (int t = 0; t < 200; ++t) {
      std::string text;
      for (int n = 1 + int(rng() % 8); n > 0; --n) text += pieces[rng() % pieces.size()];
      policy::FoldedText folded;
      folded.fold(text);
      uint32_t want = 0;
      for (unsigned l = 0; l < 4; ++l)
        if (reference[l].found_in(folded)) want |= 1u << l;
      INFO("text: " << text << "  joined: " << folded.joined());
      REQUIRE(lists.found(folded) == want);
    }
  }
}
