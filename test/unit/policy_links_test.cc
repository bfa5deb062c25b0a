// The links of a text (policy/links.h): the same schemes and hosts as RE2's FindAndConsume with the groups.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "policy/links.h"

namespace {

using Links = std::vector<std::pair<std::string, std::string>>;  // scheme, host

Links found(const policy::LinkFinder& finder, std::string_view text) {
  Links links;
  finder.each(text, [&](std::string_view scheme, std::string_view host) {
    links.emplace_back(scheme, host);
    return true;
  });
  return links;
}

// What the policy did before: the pattern with its two groups, one match after another.
Links found_with_groups(const RE2& link, std::string_view text) {
  Links links;
  re2::StringPiece input(text.data(), text.size()), scheme, host;
  while (RE2::FindAndConsume(&input, link, &scheme, &host)) links.emplace_back(std::string(scheme), std::string(host));
  return links;
}

}  // namespace

TEST_CASE("links: scheme and host of each link, in order") {
  policy::LinkFinder finder;
  CHECK(found(finder, "") == Links{});
  CHECK(found(finder, "no link here. Really.") == Links{});
  CHECK(found(finder, "https://shop.com.sa/x") == Links{{"https://", "shop.com.sa"}});
  CHECK(found(finder, "Visit www.Shop.com or http://a.b.example, bye") ==
        Links{{"www.", "Shop.com"}, {"http://", "a.b.example"}});
  CHECK(found(finder, "bit.ly/abc and Mr.Smith") == Links{{"", "bit.ly"}, {"", "Mr.Smith"}});
  CHECK(found(finder, "www.com") == Links{{"", "www.com"}});  // www. then no host: the whole is the host
  CHECK(found(finder, "زوروا shop.sa.") == Links{{"", "shop.sa"}});
  CHECK(found(finder, "a.b_c") == Links{});  // \b: no boundary between b and _
}

TEST_CASE("links: stops when the visitor says so") {
  policy::LinkFinder finder;
  int seen = 0;
  CHECK_FALSE(finder.each("a.com b.com c.com", [&](std::string_view, std::string_view) { return ++seen < 2; }));
  CHECK(seen == 2);
}

TEST_CASE("links: the same links as the pattern with groups, on generated texts") {
  policy::LinkFinder finder;
  RE2 link(policy::LinkFinder::kLink);
  REQUIRE(link.ok());
  // Pieces of links and of what surrounds them, case variants, the non-ASCII letters that (?i)
  // lets [a-z] match (ſ, K), other letters, \b's word characters (_ and digits), broken UTF-8.
  const std::vector<std::string> pieces = {"http://", "https://", "HTTPS://", "Http", "s://", "www.", "WWW.", "ww",
                                           "w", ".", ".", "..", "-", ":", "/", "//", "_", " ", " ", "a", "Z", "0",
                                           "9", "com", "sa", "co", "x", "ab", "ſ", "K", "é", "ا", "ك", "\xFF", "\xC5",
                                           "httpſ://", "example", "b-c", "1.2", "Mr", ".Smith", "\n", "?", "%"};
  std::mt19937 rng(7);
  for (int t = 0; t < 20000; ++t) {
    std::string text;
    for (int n = 1 + int(rng() % 14); n > 0; --n) text += pieces[rng() % pieces.size()];
    INFO("text: " << text);
    REQUIRE(found(finder, text) == found_with_groups(link, text));
  }
}
