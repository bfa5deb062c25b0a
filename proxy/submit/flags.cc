// Flagged messages (proxy/submit/flags.h): masked examples, tallies per tick.
#include "proxy/submit/flags.h"

#include <re2/re2.h>

#include <algorithm>

#include "policy/saudi_time.h"
#include "proxy/log.h"
#include "proxy/state/store.h"
#include "proxy/stats/stats.h"

namespace proxy {

namespace {
// A scheme or www. and what follows up to a space, or a bare host with an optional path: wider
// than the link rule's, since masking a word too many costs nothing here.
const RE2& link_pattern() {
  static const RE2 link(R"((?i)(?:https?://|www\.)\S+|(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/\S*)?)");
  return link;
}

// The UTF-8 length of a digit at `p` (1 for 0-9, 2 for U+0660-0669 and U+06F0-06F9), or 0.
size_t digit_at(std::string_view s, size_t p) {
  unsigned char c = static_cast<unsigned char>(s[p]);
  if (c >= '0' && c <= '9') return 1;
  if (p + 1 >= s.size()) return 0;
  unsigned char d = static_cast<unsigned char>(s[p + 1]);
  if (c == 0xD9 && d >= 0xA0 && d <= 0xA9) return 2;
  if (c == 0xDB && d >= 0xB0 && d <= 0xB9) return 2;
  return 0;
}

// Cut at `max` bytes without splitting a UTF-8 character (continuation bytes are 10xxxxxx).
void cut(std::string& s, size_t max) {
  if (s.size() <= max) return;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  s.resize(end);
}
}  // namespace

std::string mask_example(std::string_view utf8) {
  std::string text(utf8.substr(0, kMaskedMax * 4));  // a bound before the pattern runs
  RE2::GlobalReplace(&text, link_pattern(), "[link]");
  std::string out;
  out.reserve(text.size());
  for (size_t p = 0; p < text.size();) {
    if (size_t n = digit_at(text, p)) {
      out.push_back('#');
      p += n;
    } else {
      out.push_back(text[p++]);
    }
  }
  cut(out, kMaskedMax);
  return out;
}

void FlagLedger::count(const std::string& account, int64_t unix_s, const policy::Verdict& verdict, std::string_view text) {
  const int64_t day = policy::saudi_time(unix_s).day;
  for (size_t r = 0; r < size_t(policy::Rule::count) && r < 32; ++r) {
    if (!(verdict.flagged & (1u << r))) continue;
    Tally& t = tallies_[{account, day, policy::Rule(r)}];
    ++t.count;
    if (int(t.examples.size()) >= keys::kFlagExamples) continue;
    std::string masked = mask_example(text);
    if (std::find(t.examples.begin(), t.examples.end(), masked) == t.examples.end()) t.examples.push_back(std::move(masked));
  }
}

// Not a promise to anyone (the message went on): a tally whose write fails is counted as lost,
// and not sent again, which could count it twice.
void FlagLedger::flush() {
  if (tallies_.empty() || !store_.up()) return;
  for (const auto& [key, t] : tallies_) {
    const auto& [account, day, rule] = key;
    store_.count_flags(account, day, policy::rule_id(rule), t.count, t.examples, [this, n = t.count](bool ok) {
      if (ok) return;
      counters_.flag_tallies_lost += uint64_t(n);
      log::warn_limited("state store: {} flagged messages could not be counted for the flags report", n);
    });
  }
  tallies_.clear();
}

}  // namespace proxy
