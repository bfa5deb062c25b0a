// Word lists matched on folded text: whole words with Arabic proclitics and plural endings, phrases, letters run together.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "policy/hash.h"
#include "policy/normalize.h"

namespace policy {

// A message's text folded once (policy/normalize.h), in the forms the word lists read.
class FoldedText {
 public:
  void fold(std::string_view text) {
    normalize_and_squeeze(text, spaced_, squeezed_);
    joined_ready_ = false;
  }
  // normalize_for_matching(): words are looked up in it, and the OTP pattern is matched against it.
  const std::string& spaced() const { return spaced_; }
  // Without spaces: long entries are looked for anywhere in it ("dis-count").
  const std::string& squeezed() const { return squeezed_; }
  // Spelled-out letters joined (join_spelled_out()). Made when first asked for: only short
  // phrases need it whole.
  const std::string& joined() const {
    if (!joined_ready_) join_spelled_out(spaced_, joined_);
    joined_ready_ = true;
    return joined_;
  }

 private:
  std::string spaced_, squeezed_;
  mutable std::string joined_;
  mutable bool joined_ready_ = false;
};

// An entry as the word lists hold it: folded like a text, spelled-out letters joined.
inline std::string folded_entry(std::string_view raw) {
  std::string normalized, joined;
  normalize_for_matching(raw, normalized);
  join_spelled_out(normalized, joined);
  return joined;
}

namespace affixes {

// Arabic attaches articles and conjunctions to the word that follows, and both scripts add plural
// endings; "" because a word may carry none.
inline constexpr std::string_view kProclitics[] = {"", "ال", "و", "ب", "ل", "ف", "ك", "وال", "بال", "لل", "فال", "كال", "وب", "ول"};
inline constexpr std::string_view kArabicSuffixes[] = {"", "ات", "ها", "هم", "نا"};
inline constexpr std::string_view kLatinSuffixes[] = {"", "s", "es"};
inline constexpr std::string_view kNone[] = {""};  // words in Latin letters take no proclitic

}  // namespace affixes

// Up to 32 word lists, a bit each, matched together in one pass over a FoldedText. An entry is found
//   - as a word of the joined text, which may carry a plural ending (s, es) or, when it is written
//     in Arabic letters, a proclitic and a plural ending (بالعروض is بال + عروض): so that عرض
//     "offer" is found in والعرض but not inside معرض "exhibition";
//   - as a phrase: its words, whole and in order, in the joined text;
//   - if it has five letters or more: anywhere in the squeezed text, which catches "d.i.s.c.o.u.n.t".
// A word or phrase of five letters or more is in the squeezed text wherever it is in the joined
// text, so only the shorter ones are looked up word by word: most entries cost one pass over the
// squeezed text, however many there are.
class WordLists {
 public:
  void add(unsigned list, std::string_view raw) { add_folded(list, folded_entry(raw)); }

  // `entry` as folded_entry() gives it.
  void add_folded(unsigned list, const std::string& entry) {
    if (entry.empty()) return;
    const uint32_t bit = uint32_t(1) << list;
    lists_ |= bit;
    std::string squeezed;
    squeeze_spaces(entry, squeezed);
    if (code_points(squeezed) >= kLongEntry) return add_long(bit, squeezed);
    if (entry.find(' ') != std::string::npos) return add_phrase(bit, entry);
    add_word(bit, entry);
  }

  bool empty() const { return lists_ == 0; }

  // A bit for each list that has an entry in `text`.
  uint32_t found(const FoldedText& text) const {
    uint32_t found = 0;
    if (!long_.empty()) found |= found_long(text.squeezed());
    if (!words_.empty() && found != lists_) found |= found_words(text.spaced());
    for (const Phrase& p : phrases_)
      if ((found & p.lists) != p.lists && contains_phrase(text.joined(), p.text)) found |= p.lists;
    return found;
  }

 private:
  static constexpr size_t kLongEntry = 5;  // letters: looked for anywhere in the squeezed text

  struct Word {
    std::string text;
    uint32_t lists;
  };
  struct Phrase {
    std::string text;
    uint32_t lists;
  };
  struct Long {
    uint32_t key;  // its first four bytes (it has at least five)
    std::string text;
    uint32_t lists;
  };

  static size_t code_points(std::string_view utf8) {
    size_t n = 0;
    for (unsigned char ch : utf8) n += (ch & 0xC0) != 0x80;  // count UTF-8 lead bytes
    return n;
  }
  static uint32_t first_four(const char* p) {
    uint32_t key;
    std::memcpy(&key, p, sizeof key);
    return key;
  }
  // Arabic letters are U+0600..U+06FF: UTF-8 lead bytes 0xD8..0xDB. Other words take no proclitic.
  static bool arabic_lead(std::string_view word) {
    const auto lead = static_cast<unsigned char>(word[0]);
    return lead >= 0xD8 && lead <= 0xDB;
  }

  // ---- long entries: one pass over the squeezed text, a bitmap of their first four bytes
  // sending the few positions where one may start to a comparison ----

  void add_long(uint32_t bit, const std::string& squeezed) {
    const uint32_t key = first_four(squeezed.data());
    auto at = std::lower_bound(long_.begin(), long_.end(), std::pair(key, std::string_view(squeezed)),
                               [](const Long& l, const auto& k) { return std::pair(l.key, std::string_view(l.text)) < k; });
    if (at != long_.end() && at->key == key && at->text == squeezed) {
      at->lists |= bit;
      return;
    }
    long_.insert(at, Long{key, squeezed, bit});
    shortest_long_ = std::min(shortest_long_, squeezed.size());
    // About 64 bits per entry keeps a false start to one position in sixty or so.
    size_t bits = 64;
    while (bits < 64 * long_.size() && bits < (size_t(1) << 16)) bits *= 2;
    start_shift_ = 32;
    for (size_t b = bits; b > 1; b /= 2) --start_shift_;
    starts_.assign(bits / 64, 0);
    for (const Long& l : long_) {
      const uint32_t slot = start_slot(l.key);
      starts_[slot / 64] |= uint64_t(1) << (slot % 64);
    }
  }
  uint32_t start_slot(uint32_t key) const { return (key * 0x9E3779B1u) >> start_shift_; }

  uint32_t found_long(std::string_view text) const {
    uint32_t found = 0;
    if (text.size() < shortest_long_) return 0;
    const char* p = text.data();
    const size_t last = text.size() - shortest_long_;
    for (size_t i = 0; i <= last; ++i) {
      const uint32_t key = first_four(p + i);
      const uint32_t slot = start_slot(key);
      // Entries start with a letter's first byte: the test of the bitmap and of the byte are
      // combined, as one rarely taken branch.
      const bool inside_letter = (static_cast<unsigned char>(p[i]) & 0xC0) == 0x80;
      if (!((starts_[slot / 64] >> (slot % 64) & 1) & !inside_letter)) continue;
      auto it = std::lower_bound(long_.begin(), long_.end(), key, [](const Long& l, uint32_t k) { return l.key < k; });
      for (; it != long_.end() && it->key == key; ++it)
        if (it->text.size() <= text.size() - i && same_bytes(p + i, it->text.data(), it->text.size())) found |= it->lists;
      if (found == lists_) break;
    }
    return found;
  }

  // ---- short words: every form a short word takes in a text (proclitic, the word, ending) is
  // listed by hash, so that each word of the text costs one lookup ----

  struct Form {
    uint64_t hash = 0;
    uint32_t word = kNoForm;  // index into words_
    uint8_t proclitic = 0, suffix = 0;  // indexes into the affix tables below
    bool latin = false;  // kNone and kLatinSuffixes, else kProclitics and kArabicSuffixes
  };
  static constexpr uint32_t kNoForm = UINT32_MAX;

  static std::string_view proclitic_of(const Form& f) { return f.latin ? affixes::kNone[f.proclitic] : affixes::kProclitics[f.proclitic]; }
  static std::string_view suffix_of(const Form& f) {
    return f.latin ? affixes::kLatinSuffixes[f.suffix] : affixes::kArabicSuffixes[f.suffix];
  }

  void add_word(uint32_t bit, const std::string& word) {
    for (Word& w : words_)
      if (w.text == word) {
        w.lists |= bit;
        return;
      }
    words_.push_back(Word{word, bit});
    const uint32_t index = uint32_t(words_.size() - 1);
    // A word in Latin letters takes a Latin ending; any word may follow an Arabic proclitic and
    // then takes an Arabic ending, but without a proclitic only a word in Arabic letters does: a
    // word of the text is read as Arabic or Latin by its first letter.
    auto add_forms = [&](bool latin, size_t proclitics, size_t suffixes, size_t first_proclitic) {
      for (size_t p = first_proclitic; p < proclitics; ++p)
        for (size_t sf = 0; sf < suffixes; ++sf) add_form(Form{0, index, uint8_t(p), uint8_t(sf), latin});
    };
    const size_t proclitics = std::size(affixes::kProclitics), arabic_endings = std::size(affixes::kArabicSuffixes);
    if (arabic_lead(word)) {
      add_forms(false, proclitics, arabic_endings, 0);
    } else {
      add_forms(true, 1, std::size(affixes::kLatinSuffixes), 0);
      add_forms(false, proclitics, arabic_endings, 1);  // kProclitics[0] is ""
    }
  }

  std::string form_text(const Form& f) const {
    return std::string(proclitic_of(f)).append(words_[f.word].text).append(suffix_of(f));
  }

  void add_form(Form form) {
    const std::string text = form_text(form);
    form.hash = hash_bytes(text);
    if (2 * (form_count_ + 1) > forms_.size()) {
      std::vector<Form> old = std::move(forms_);
      forms_.assign(std::max<size_t>(16, old.size() * 2), Form{});
      for (const Form& f : old)
        if (f.word != kNoForm) place(f);
    }
    place(form);
    ++form_count_;
    // About sixteen bits per form: a word that is no form is turned away by one bit, mostly.
    if (form_filter_.size() * 64 < 16 * form_count_) {
      form_filter_.assign(std::max<size_t>(1, form_filter_.size() * 2), 0);
      for (const Form& f : forms_)
        if (f.word != kNoForm) set_filter_bit(f.hash);
    }
    set_filter_bit(form.hash);
    if (text.size() < kLongestForm) form_sizes_ |= uint64_t(1) << text.size();
  }
  size_t filter_bit(uint64_t h) const { return size_t(h >> 40) & (form_filter_.size() * 64 - 1); }
  void set_filter_bit(uint64_t h) { form_filter_[filter_bit(h) / 64] |= uint64_t(1) << (filter_bit(h) % 64); }

  void place(const Form& form) {
    size_t i = size_t(form.hash) & (forms_.size() - 1);
    while (forms_[i].word != kNoForm) i = (i + 1) & (forms_.size() - 1);
    forms_[i] = form;
  }

  static constexpr size_t kLongestForm = 64;  // form_sizes_ has a bit for each size below

  bool is_form(std::string_view text, const Form& f) const {
    const std::string_view before = proclitic_of(f), word = words_[f.word].text, after = suffix_of(f);
    return text.size() == before.size() + word.size() + after.size() && same_bytes(text.data(), before.data(), before.size()) &&
           same_bytes(text.data() + before.size(), word.data(), word.size()) &&
           same_bytes(text.data() + before.size() + word.size(), after.data(), after.size());
  }

  uint32_t found_in_word(std::string_view word) const {
    if (word.size() >= kLongestForm || !(form_sizes_ >> word.size() & 1)) return 0;
    const uint64_t h = hash_bytes(word);
    if (!(form_filter_[filter_bit(h) / 64] >> (filter_bit(h) % 64) & 1)) return 0;
    uint32_t found = 0;
    for (size_t i = size_t(h) & (forms_.size() - 1); forms_[i].word != kNoForm; i = (i + 1) & (forms_.size() - 1))
      if (forms_[i].hash == h && is_form(word, forms_[i])) found |= words_[forms_[i].word].lists;
    return found;
  }

  // Where the word starting at p ends: the next space, eight bytes at a time.
  static const char* word_end(const char* p, const char* end) {
    for (; end - p >= 8; p += 8) {
      uint64_t v;
      std::memcpy(&v, p, 8);
      const uint64_t x = v ^ 0x2020202020202020ull;  // a zero byte where there was a space
      const uint64_t zero = (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
      if (zero) return p + std::countr_zero(zero) / 8;
    }
    while (p < end && *p != ' ') ++p;
    return p;
  }
  static bool single_letter(std::string_view word) {
    if (word.size() > 4) return false;  // a code point has four bytes at most
    size_t letters = 0;
    for (unsigned char ch : word) letters += (ch & 0xC0) != 0x80;
    return letters == 1;
  }

  // The words of the joined form are those of the normalised text, except that a run of
  // single-letter words is one word: such runs are joined here, in a buffer of the longest form.
  uint32_t found_words(std::string_view spaced) const {
    uint32_t found = 0;
    char run[kLongestForm];
    size_t run_size = 0;  // more than kLongestForm: too long to be a form
    bool in_run = false;
    auto end_run = [&] {
      if (in_run && run_size <= kLongestForm) found |= found_in_word(std::string_view(run, run_size));
      in_run = false;
      run_size = 0;
    };
    const char* const end = spaced.data() + spaced.size();
    for (const char* p = spaced.data(); p < end;) {
      const char* e = word_end(p, end);
      const std::string_view word(p, size_t(e - p));
      if (single_letter(word)) {
        if (run_size + word.size() <= kLongestForm) std::memcpy(run + run_size, word.data(), word.size());
        run_size += word.size();
        in_run = true;
      } else {
        end_run();
        found |= found_in_word(word);
      }
      if (found == lists_) return found;
      p = e + 1;
    }
    end_run();
    return found;
  }

  // ---- short phrases: rare (a phrase of fewer than five letters), looked for one by one ----

  void add_phrase(uint32_t bit, const std::string& phrase) {
    for (Phrase& p : phrases_)
      if (p.text == phrase) {
        p.lists |= bit;
        return;
      }
    phrases_.push_back(Phrase{phrase, bit});
  }

  static bool contains_phrase(std::string_view joined, std::string_view phrase) {
    for (size_t at = joined.find(phrase); at != std::string_view::npos; at = joined.find(phrase, at + 1)) {
      bool starts = at == 0 || joined[at - 1] == ' ';
      bool ends = at + phrase.size() == joined.size() || joined[at + phrase.size()] == ' ';
      if (starts && ends) return true;
    }
    return false;
  }

  uint32_t lists_ = 0;  // the lists that have an entry
  std::vector<Long> long_;  // sorted by key, then text
  std::vector<uint64_t> starts_;
  int start_shift_ = 26;
  size_t shortest_long_ = SIZE_MAX;
  std::vector<Word> words_;
  std::vector<Form> forms_;  // open addressing by hash, at most half full
  std::vector<uint64_t> form_filter_;  // a bit per form hash, a power of two of them
  size_t form_count_ = 0;
  uint64_t form_sizes_ = 0;  // bit n: a form of n bytes
  std::vector<Phrase> phrases_;
};

}  // namespace policy
