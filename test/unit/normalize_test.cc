// Text folding for content rules: each spelling trick a spammer uses on a keyword folds away.
#include <catch2/catch.hpp>

#include <string>

#include "policy/normalize.h"

namespace {
std::string norm(std::string_view text) {
  std::string out;
  policy::normalize_for_matching(text, out);
  return out;
}
std::string squeezed(std::string_view text) {
  std::string out;
  policy::squeeze_spaces(norm(text), out);
  return out;
}
}  // namespace

TEST_CASE("normalize: plain keywords are unchanged") {
  CHECK(norm("خصم") == "خصم");
  CHECK(norm("discount") == "discount");
  CHECK(norm("offer") == "offer");
}

TEST_CASE("normalize: normal text stays readable, one space between words") {
  CHECK(norm("Big sale today, 50% off!") == "big sale today 50 off");
  CHECK(norm("خصم كبير اليوم") == "خصم كبير اليوم");
  CHECK(norm("  line one\n\tline two  ") == "line one line two");
}

TEST_CASE("normalize: upper case folds to lower case") {
  CHECK(norm("DISCOUNT") == "discount");
  CHECK(norm("OfFeR") == "offer");
  CHECK(norm("STRASSE Straße") == "strasse strasse");
}

TEST_CASE("normalize: Arabic diacritics (harakat, shadda, sukun, superscript alef) are removed") {
  CHECK(norm("خَصْم") == "خصم");
  CHECK(norm("خُصُومَاتٌ") == "خصومات");
  CHECK(norm("عَرْضٌ") == "عرض");
  CHECK(norm("هٰذا") == "هذا");     // U+0670 superscript alef
  CHECK(norm("مُحَمَّد") == "محمد");  // shadda
}

TEST_CASE("normalize: Quranic marks are removed") {
  CHECK(norm("خصم\u06D6") == "خصم");
  CHECK(norm("خ\u06DAص\u06E5م") == "خصم");  // U+06E5 is a letter (Lm) but in the Quranic range
}

TEST_CASE("normalize: tatweel is removed") {
  CHECK(norm("خــصـم") == "خصم");
  CHECK(norm("عـــرض") == "عرض");
}

TEST_CASE("normalize: alef forms أ إ آ ٱ become ا") {
  CHECK(norm("أسعار") == norm("اسعار"));
  CHECK(norm("أسعار") == "اسعار");
  CHECK(norm("إعلان") == "اعلان");
  CHECK(norm("آخر") == "اخر");
  CHECK(norm("ٱلعرض") == "العرض");
  CHECK(norm("تخفيضات") == "تخفيضات");
}

TEST_CASE("normalize: alef maksura ى and yeh forms become ي") {
  CHECK(norm("على") == "علي");
  CHECK(norm("مستشفى") == norm("مستشفي"));
  CHECK(norm("ی") == "ي");   // Farsi yeh
  CHECK(norm("ئ") == "ي");   // yeh with hamza above
}

TEST_CASE("normalize: taa marbuta ة becomes ه") {
  CHECK(norm("مجانية") == "مجانيه");
}

TEST_CASE("normalize: hamza on waw ؤ becomes و") {
  CHECK(norm("مؤسسة") == "موسسه");
}

TEST_CASE("normalize: Persian keheh ک becomes ك") {
  CHECK(norm("کبير") == "كبير");
}

TEST_CASE("normalize: zero-width joiner and non-joiner inside a word are removed") {
  CHECK(norm("خ\u200Dص\u200Cم") == "خصم");
  CHECK(norm("dis\u200Bcount") == "discount");
  CHECK(norm("of\u2060fer") == "offer");
  CHECK(norm("\uFEFFoffer") == "offer");
  CHECK(norm("dis\u00ADcount") == "discount");  // soft hyphen
}

TEST_CASE("normalize: bidi controls (RLM, LRM, ALM, embeddings, isolates) are removed") {
  CHECK(norm("\u200Fخصم\u200F") == "خصم");
  CHECK(norm("خ\u200Eص\u061Cم") == "خصم");
  CHECK(norm("\u202Bخصم\u202C") == "خصم");
  CHECK(norm("\u2067offer\u2069") == "offer");
}

TEST_CASE("normalize: fullwidth Latin becomes ASCII") {
  CHECK(norm("ＳＡＬＥ") == "sale");
  CHECK(norm("ｄｉｓｃｏｕｎｔ") == "discount");
  CHECK(norm("ＯＦＦＥＲ　１００") == "offer 100");  // ideographic space too
}

TEST_CASE("normalize: other compatibility forms (math letters, circled, ligatures) fold") {
  CHECK(norm("𝐝𝐢𝐬𝐜𝐨𝐮𝐧𝐭") == "discount");
  CHECK(norm("ⓞⓕⓕⓔⓡ") == "offer");
  CHECK(norm("oﬀer") == "offer");
}

TEST_CASE("normalize: Cyrillic look-alikes become Latin letters") {
  CHECK(norm("disc\u043Eunt") == "discount");                  // о
  CHECK(norm("\u043E\u0444\u0444\u0435\u0440") == "o\u0444\u0444ep");  // ф has no look-alike
  CHECK(norm("\u0430\u0435\u043E\u0440\u0441\u0445\u0443") == "aeopcxy");
  CHECK(norm("\u0456\u0458\u0455\u0501\u04BB") == "ijsdh");
  CHECK(norm("DISC\u041EUNT") == "discount");                  // upper-case О folds first
  CHECK(norm("\u0412\u041C\u041D\u0422\u041A") == "bmhtk");     // В М Н Т К
}

TEST_CASE("normalize: Greek look-alikes become Latin letters") {
  CHECK(norm("disc\u03BFunt") == "discount");  // omicron
  CHECK(norm("\u039FFFER") == "offer");        // capital omicron
  CHECK(norm("\u03B1\u03B5\u03B9\u03BA\u03BD\u03C1\u03C4\u03C5\u03C7") == "aeikvptux");
}

TEST_CASE("normalize: Latin accents are removed, precomposed or combining") {
  CHECK(norm("dìscöunt") == "discount");
  CHECK(norm("di\u0300sco\u0308unt") == "discount");
  CHECK(norm("café") == norm("cafe\u0301"));
}

TEST_CASE("normalize: Arabic-Indic and Persian digits become ASCII digits") {
  CHECK(norm("خصم ٥٠٪") == "خصم 50");
  CHECK(norm("۱۲۳۴۵۶۷۸۹۰") == "1234567890");
  CHECK(norm("٠١٢٣٤٥٦٧٨٩") == "0123456789");
}

TEST_CASE("normalize: Arabic presentation forms become base letters") {
  CHECK(norm("\uFEA7\uFEBC\uFEE2") == "خصم");   // ﺧﺼﻢ initial, medial, final forms
  CHECK(norm("\uFEFB") == "لا");                // ﻻ lam-alef ligature
  CHECK(norm("\uFEF7") == "لا");                // ﻷ lam with hamza-alef: the hamza goes too
  CHECK(norm("\uFE8D\uFEEE\uFE93") == "اوه");   // isolated alef, final waw, isolated taa marbuta
  CHECK(norm("\uFC5E") == "");                  // a presentation form of shadda with dammatan
}

TEST_CASE("normalize: punctuation spreading the letters apart becomes spaces; squeezed, it is the keyword") {
  CHECK(norm("D.i.s.c.o.u.n.t") == "d i s c o u n t");
  CHECK(squeezed("D.i.s.c.o.u.n.t") == "discount");
  CHECK(squeezed("o-f-f-e-r") == "offer");
  CHECK(squeezed("خ ص م") == "خصم");
  CHECK(squeezed("d😀i😀s😀c😀o😀u😀n😀t") == "discount");
}

TEST_CASE("normalize: runs of separators collapse to one space, none at the ends") {
  CHECK(norm("...offer!!!   now???") == "offer now");
  CHECK(norm("«خصم» — اليوم") == "خصم اليوم");
  CHECK(norm(" \t\n").empty());
  CHECK(norm("").empty());
}

TEST_CASE("normalize: several tricks at once") {
  CHECK(norm("\u200FＤＩＳＣ\u041E\u200DＵＮＴ") == "discount");
  CHECK(norm("خَـــ\u200Cـصْــ\u200Fـمٌ") == "خصم");
  CHECK(norm("أَسْعَـــار") == "اسعار");
}

TEST_CASE("normalize: invalid UTF-8 is read as U+FFFD, a symbol, so a space") {
  CHECK(norm("dis\xFF" "count") == "dis count");
  CHECK(norm("\xC3") == "");
  CHECK(norm("offer\xE2\x82") == "offer");
  CHECK(norm("a\xED\xA0\x80" "b") == "a b");  // an encoded surrogate
}

TEST_CASE("normalize: the output is cleared first and reuses its buffer") {
  std::string out = "previous";
  out.reserve(256);
  const char* buffer = out.data();
  policy::normalize_for_matching("ＳＡＬＥ خَصْم ﻻ", out);
  CHECK(out == "sale خصم لا");
  CHECK(out.data() == buffer);
}

TEST_CASE("squeeze_spaces removes the spaces and clears its output first") {
  std::string out = "x";
  policy::squeeze_spaces("d i s c o u n t", out);
  CHECK(out == "discount");
  policy::squeeze_spaces("", out);
  CHECK(out.empty());
}
