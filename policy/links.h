// Links in a message's text: each one's scheme and host, found without RE2's capturing groups.
#pragma once

#include <re2/re2.h>

#include <cstddef>
#include <cstring>
#include <string_view>

namespace policy {

// The hosts a text links to, as the pattern kLink finds them one after the other (RE2's
// FindAndConsume). Asking RE2 for the groups would run its backtracker, which allocates on every
// search; so the link is found whole, then split into scheme and host by two smaller patterns.
class LinkFinder {
 public:
  // A scheme or www. and any host, or a bare host (the caller asks for a common top-level domain
  // then, so that "Mr.Smith" is not a link). Group 1: the scheme or www., group 2: the host.
  static constexpr const char* kLink = R"((?i)(https?://|www\.)?((?:[a-z0-9-]+\.)+[a-z]{2,})\b)";

  LinkFinder() : link_(kLink), scheme_(kScheme), host_(kHost) {
    // RE2 builds each DFA on first use: do it here rather than in the first decisions.
    each("https://www.example.com a.example", [](std::string_view, std::string_view) { return true; });
  }

  // Calls visit(scheme, host) for each link in order, while visit returns true; scheme is empty
  // when the link has none. False if visit returned false.
  template <typename Visit>
  bool each(std::string_view text, Visit&& visit) const {
    if (!dot_before_letter(text)) return true;  // most texts: no link can be in them
    // Every byte of a link is an ASCII letter, digit or one of . : / -, or part of a non-ASCII
    // letter that case folding lets [a-z] match: each link lies within one run of such bytes, and
    // has a dot followed by a letter. Runs without are skipped; the others are searched with the
    // whole text as RE2's context, so that \b at the end of a run sees the character after it.
    for (size_t start = 0; start < text.size();) {
      if (!in_link(text[start])) {
        ++start;
        continue;
      }
      size_t end = start;
      bool dot_letter = false;
      for (; end < text.size() && in_link(text[end]); ++end)
        if (text[end] == '.' && end + 1 < text.size() && may_start_letter(text[end + 1])) dot_letter = true;
      if (dot_letter && !each_in_run(text, start, end, visit)) return false;
      start = end;
    }
    return true;
  }

 private:
  static constexpr const char* kScheme = R"((?i)https?://|www\.)";
  static constexpr const char* kHost = R"((?i)(?:[a-z0-9-]+\.)+[a-z]{2,})";

  // A link has a dot followed by a letter (its top-level domain); memchr finds the dots quickly.
  static bool dot_before_letter(std::string_view text) {
    const char* const end = text.data() + text.size();
    for (const char* p = text.data(); p < end; ++p) {
      p = static_cast<const char*>(std::memchr(p, '.', size_t(end - p)));
      if (!p) return false;
      if (p + 1 < end && may_start_letter(p[1])) return true;
    }
    return false;
  }

  static bool in_link(char c) {
    const auto b = static_cast<unsigned char>(c);
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '.' || b == ':' ||
           b == '/' || b == '-' || b >= 0x80;
  }
  static bool may_start_letter(char c) {
    const auto b = static_cast<unsigned char>(c);
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b >= 0x80;
  }

  template <typename Visit>
  bool each_in_run(std::string_view text, size_t start, size_t end, Visit& visit) const {
    const re2::StringPiece whole(text.data(), text.size());
    re2::StringPiece link;
    for (size_t at = start; at < end && link_.Match(whole, at, end, RE2::UNANCHORED, &link, 1);) {
      const size_t from = size_t(link.data() - text.data()), to = from + link.size();
      // Group 1 took a scheme if one starts the link and the rest is a whole host: then the
      // pattern, which tries the scheme first, matched that way.
      re2::StringPiece scheme;
      if (!scheme_.Match(whole, from, to, RE2::ANCHOR_START, &scheme, 1) ||
          !host_.Match(whole, from + scheme.size(), to, RE2::ANCHOR_BOTH, nullptr, 0))
        scheme = re2::StringPiece();
      const size_t host_from = from + scheme.size();
      if (!visit(std::string_view(scheme.data(), scheme.size()), text.substr(host_from, to - host_from))) return false;
      at = to > at ? to : at + 1;
    }
    return true;
  }

  RE2 link_, scheme_, host_;
};

// Whether a host ends in a top-level domain common enough that a bare host (no scheme) followed by
// a path is taken for a link: "shop.example/x" is one, "Mr.Smith/x" is not.
inline bool common_top_level_domain(std::string_view host) {
  std::string_view tld = host.substr(host.rfind('.') + 1);
  for (std::string_view t : {"com", "net", "org", "sa", "info", "io", "me", "co", "app", "link", "ly", "site", "online",
                             "store", "shop", "xyz", "gov", "edu", "biz", "example", "test"})
    if (tld == t) return true;
  return false;
}

}  // namespace policy
