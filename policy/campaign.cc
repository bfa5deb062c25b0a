// The campaign template of a promotional text (policy/campaign.h): a token pass over UTF-8, then masks.
#include "policy/campaign.h"

#include <fmt/format.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "policy/normalize.h"

namespace policy {

namespace {

// The words after which a name comes, as normalize_for_matching() folds them (so that مرحباً and
// مرحبا, أهلا and اهلا, with or without diacritics, all match). Not "miss": "Don't miss our sale!".
const std::vector<std::string>& greetings() {
  static const std::vector<std::string> folded = [] {
    std::vector<std::string> out;
    std::string f;
    for (std::string_view w : {"dear", "hi", "hello", "hey", "mr", "mrs", "ms", "dr", "mister", "madam",
                               "عزيزي", "عزيزتي", "السيد", "السيدة", "الأستاذ", "الأستاذة", "مرحبا", "مرحباً",
                               "أهلا", "أهلاً", "الدكتور", "الدكتورة", "المهندس", "المهندسة", "الأخ", "الأخت",
                               "الشيخ", "العزيز", "العزيزة"}) {
      normalize_for_matching(w, f);
      out.push_back(f);
    }
    return out;
  }();
  return folded;
}

struct Token {
  enum Kind : uint8_t { space, word, punct, link } kind;
  size_t from, to;
  bool digit = false;  // a word holding a digit
  size_t span = 0;     // the index of its Span, for a link
};

bool is_word_char(UChar32 c) { return u_isalnum(c) || (U_GET_GC_MASK(c) & U_GC_M_MASK) != 0; }

// Joins two word characters without ending the word: Al-Qahtani, O'Neil; between digits the
// separators of amounts: 1,250.50 and ١٬٢٥٠٫٥٠.
bool joins_letters(UChar32 c) { return c == '-' || c == '\'' || c == 0x2019; }
bool joins_digits(UChar32 c) { return c == '.' || c == ',' || c == 0x066B || c == 0x066C; }

UChar32 decode_at(std::string_view s, size_t i, size_t& next) {
  int32_t at = int32_t(i);
  UChar32 c;
  U8_NEXT(s.data(), at, int32_t(s.size()), c);
  next = size_t(at);
  return c < 0 ? 0xFFFD : c;
}

bool path_char(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b > 0x20 && b < 0x7F && c != '"' && c != '<' && c != '>';
}

void tokenize(std::string_view text, const std::vector<size_t>& link_starts, const std::vector<size_t>& link_ends,
              std::vector<Token>& tokens) {
  size_t next_link = 0;
  for (size_t i = 0; i < text.size();) {
    if (next_link < link_starts.size() && i == link_starts[next_link]) {
      tokens.push_back({Token::link, i, link_ends[next_link], false, next_link});
      i = link_ends[next_link++];
      continue;
    }
    size_t j;
    UChar32 c = decode_at(text, i, j);
    if (u_isUWhiteSpace(c)) {
      tokens.push_back({Token::space, i, j});
      i = j;
      continue;
    }
    if (!is_word_char(c)) {
      tokens.push_back({Token::punct, i, j});
      i = j;
      continue;
    }
    Token word{Token::word, i, j, u_isdigit(c) != 0};
    UChar32 last = c;
    size_t end = j;
    while (end < text.size() && !(next_link < link_starts.size() && end == link_starts[next_link])) {
      size_t after;
      UChar32 d = decode_at(text, end, after);
      if (is_word_char(d) || (U_GET_GC_MASK(d) & U_GC_CF_MASK)) {
        word.digit |= u_isdigit(d) != 0;
        if (is_word_char(d)) last = d;
        end = after;
        continue;
      }
      if (after >= text.size() || !(joins_letters(d) || joins_digits(d))) break;
      size_t beyond;
      UChar32 e = decode_at(text, after, beyond);
      bool joined = joins_letters(d) ? is_word_char(e) && !u_isdigit(last) : u_isdigit(last) && u_isdigit(e);
      if (!joined) break;
      end = after;
    }
    word.to = end;
    tokens.push_back(word);
    i = end;
  }
}

bool is_greeting(std::string_view text, const Token& t, std::string& folded) {
  if (t.kind != Token::word || t.digit) return false;
  normalize_for_matching(text.substr(t.from, t.to - t.from), folded);
  const auto& list = greetings();
  return std::find(list.begin(), list.end(), folded) != list.end();
}

// Marks each greeting with the name after it (first and last token): see campaign.h.
void mark_names(std::string_view text, const std::vector<Token>& tokens, std::vector<std::pair<size_t, size_t>>& names) {
  std::string folded;
  auto punct_is = [&](const Token& t, char c) { return t.kind == Token::punct && t.to - t.from == 1 && text[t.from] == c; };
  for (size_t t = 0; t < tokens.size(); ++t) {
    if (!is_greeting(text, tokens[t], folded)) continue;
    size_t k = t + 1;
    // "Dear Mr. Ahmed": the honorific's dot, spaces and further honorifics come before the name.
    while (k < tokens.size() && (tokens[k].kind == Token::space || punct_is(tokens[k], '.') || is_greeting(text, tokens[k], folded))) ++k;
    if (k >= tokens.size() || tokens[k].kind != Token::word || tokens[k].digit) continue;
    size_t last = k, words = 1;
    bool ended = false;  // by punctuation or the end of the text
    for (size_t m = k + 1;; m += 2) {
      if (m >= tokens.size() || tokens[m].kind == Token::punct) {
        ended = true;
        break;
      }
      if (tokens[m].kind != Token::space || m + 1 >= tokens.size() || tokens[m + 1].kind != Token::word ||
          tokens[m + 1].digit || words == 3)
        break;
      last = m + 1;
      ++words;
    }
    names.emplace_back(t, ended ? last : k);  // the greeting too: عزيزي and عزيزتي, Mr and Mrs follow the person
    t = ended ? last : k;
  }
}

}  // namespace

void CampaignTemplater::find_links(std::string_view text, std::vector<Span>& spans) const {
  std::string host;
  finder_.each(text, [&](std::string_view scheme, std::string_view found) {
    const size_t from = size_t((scheme.empty() ? found.data() : scheme.data()) - text.data());
    const size_t host_end = size_t(found.data() + found.size() - text.data());
    size_t to = host_end;
    if (to < text.size() && (text[to] == '/' || text[to] == '?' || text[to] == '#' || text[to] == ':')) {
      while (to < text.size() && path_char(text[to])) ++to;
      while (to > host_end + 1 && std::string_view(".,;:!?)]'").find(text[to - 1]) != std::string_view::npos) --to;
    }
    host.assign(found);
    std::transform(host.begin(), host.end(), host.begin(), [](char c) { return char(std::tolower(static_cast<unsigned char>(c))); });
    // A bare host is a link only with a path and a common top-level domain ("Mr.Smith" is a name).
    if (!scheme.empty() || (to > host_end + 1 && text[host_end] == '/' && common_top_level_domain(host)))
      spans.push_back({from, host_end, to});
    return true;
  });
}

void CampaignTemplater::build(std::string_view text, const std::vector<Span>& spans, std::string& out) const {
  std::vector<size_t> starts, ends;
  for (const Span& s : spans) {
    starts.push_back(s.from);
    ends.push_back(s.to);
  }
  std::vector<Token> tokens;
  tokenize(text, starts, ends, tokens);
  std::vector<std::pair<size_t, size_t>> names;
  mark_names(text, tokens, names);
  out.clear();
  size_t name = 0;
  bool space = false;  // a space is owed before the next thing written
  for (size_t t = 0; t < tokens.size(); ++t) {
    const Token& tok = tokens[t];
    if (tok.kind == Token::space) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    if (name < names.size() && t == names[name].first) {
      out += "{name}";
      t = names[name++].second;
      continue;
    }
    switch (tok.kind) {
      case Token::word:
        if (tok.digit) out += "{n}";
        else out.append(text.substr(tok.from, tok.to - tok.from));
        break;
      case Token::link: {
        const Span& s = spans[tok.span];
        for (size_t i = s.from; i < s.host_end; ++i) out += char(std::tolower(static_cast<unsigned char>(text[i])));
        if (s.to > s.host_end) out += "/{path}";
        break;
      }
      default: out.append(text.substr(tok.from, tok.to - tok.from));
    }
  }
}

void CampaignTemplater::make(std::string_view account, std::string_view sender, std::string_view text, Campaign& out) const {
  std::vector<Span> spans;
  find_links(text, spans);
  build(text, spans, out.template_text);
  out.links.clear();
  for (const Span& s : spans) {
    std::string link(text.substr(s.from, s.to - s.from));
    if (out.links.size() < kMaxLinks && std::find(out.links.begin(), out.links.end(), link) == out.links.end())
      out.links.push_back(std::move(link));
  }
  // The id is of the template folded as keywords are: a campaign sent with and without diacritics,
  // tatweel or capitals, or with zero-width characters slipped in, is still one campaign.
  std::string folded;
  normalize_for_matching(out.template_text, folded);
  out.id = campaign_id(account, sender, folded);
}

std::string CampaignTemplater::template_of(std::string_view text) const {
  Campaign c;
  make("", "", text, c);
  return c.template_text;
}

std::string campaign_id(std::string_view account, std::string_view sender, std::string_view template_text) {
  uint64_t h = 14695981039346656037ull;
  auto add = [&h](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0) * 1099511628211ull;  // the separator: "ab"+"c" is not "a"+"bc"
  };
  add(account);
  add(sender);
  add(template_text);
  h ^= h >> 30;  // splitmix64's finaliser: FNV-1a's last bytes reach every digit
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 27;
  h *= 0x94D049BB133111EBull;
  h ^= h >> 31;
  return fmt::format("{:016x}", h);
}

}  // namespace policy
