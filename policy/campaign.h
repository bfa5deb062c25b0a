// A promotional text as its campaign: the template (names, numbers, codes and link paths masked), its links, its id.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "policy/links.h"

namespace policy {

// What a campaign review sees of one message. A million personalised messages of one campaign
// share one template, so one review approves or rejects them all (docs/policy.md, "Campaign review").
struct Campaign {
  std::string id;                  // 16 hex digits: a stable hash of account, sender and template
  std::string template_text;       // the text with its variable parts masked
  std::vector<std::string> links;  // every link in the text, whole (scheme, host, path), once each
};

// The rule, applied to the text as written (UTF-8):
//   - every run of whitespace is one space, and the ends are trimmed;
//   - a link keeps its scheme and host (lower-cased) and its path becomes `/{path}`: a reviewed host
//     cannot be swapped for another, while per-recipient tracking paths do not split the campaign;
//   - a word holding a digit (ASCII or Arabic-Indic; `1,250.50`, `٥٠`, `A7K2Q`) becomes `{n}`;
//   - a greeting or honorific (Dear, Hi, Mr, Mrs, عزيزي, عزيزتي, السيد, مرحبا, ..., compared after
//     Arabic normalisation) and the name after it become `{name}` (the greeting too, since it follows
//     the person: عزيزي / عزيزتي, Mr / Mrs); the name is the words up to the next punctuation mark
//     when there are at most three of them, else only the first word.
// The id is computed over the template folded as keywords are (normalize.h), so spelling variants
// (diacritics, tatweel, case, zero-width characters) do not split a campaign.
class CampaignTemplater {
 public:
  static constexpr size_t kMaxLinks = 20;  // links kept per message: a reviewer reads them all

  // Fills `out` for `text` sent by `account` from `sender`.
  void make(std::string_view account, std::string_view sender, std::string_view text, Campaign& out) const;
  // The template alone (for tests and `hajib explain`-like tools).
  std::string template_of(std::string_view text) const;

 private:
  struct Span {
    size_t from, host_end, to;  // the link's bytes [from, to); its path starts at host_end
  };
  void find_links(std::string_view text, std::vector<Span>& spans) const;
  void build(std::string_view text, const std::vector<Span>& spans, std::string& out) const;

  LinkFinder finder_;
};

// 16 hex digits of FNV-1a over account, sender and template (separated by NULs), mixed: the same
// on every instance, platform and version, so that instances and ops name a campaign alike.
std::string campaign_id(std::string_view account, std::string_view sender, std::string_view template_text);

}  // namespace policy
