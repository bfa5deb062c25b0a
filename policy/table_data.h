// The compiled policy's data, shared by the compiler (compile.cc) and the decision (decide.cc);
// nothing outside policy/ includes it.
#pragma once

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/hash.h"
#include "policy/links.h"
#include "policy/table.h"
#include "policy/words.h"

namespace policy {
namespace detail {

struct RuleDefaults {
  std::string_view id;
  Action action;
  uint32_t status;
};
constexpr std::array<RuleDefaults, size_t(Rule::count)> kRules = {{
#define X(name, id, action, status, what, source) {id, Action::action, status},
#include "policy/rules.def"
#undef X
}};

constexpr uint8_t bit(MessageClass c) { return uint8_t(1u << unsigned(c)); }

// The content word lists are matched together (policy/words.h), a bit each: the keywords of each
// class under the class's own bit, then these two.
constexpr unsigned kOtpWords = 5, kOtpReasons = 6;
constexpr uint32_t kKeywordLists = 0x1F;

// What a message inside its quiet window gets, per account and per sender: the time rule's
// action (`rule`), or reject or hold whatever that is.
enum class QuietHours : uint8_t { rule, reject, hold };

// A registered sender: its class, and its own quiet-hours setting (overrides the account's).
struct Sender {
  MessageClass cls = MessageClass::service;
  QuietHours quiet = QuietHours::rule;
};

// An account's sender names. The first few are kept inside the account's record, beside the
// fields every decision reads, so that finding the sender costs no cache miss of its own; any
// more (or longer) are kept sorted apart.
class SenderList {
 public:
  std::optional<Sender> find_sender(std::string_view name) const {
    for (size_t i = 0; i < near_count_; ++i)
      if (near_[i].is(name)) return near_[i].sender;
    auto it = std::lower_bound(far_.begin(), far_.end(), name, before);
    if (it != far_.end() && it->name == name) return it->sender;
    return std::nullopt;
  }
  std::optional<MessageClass> find(std::string_view name) const {
    if (auto s = find_sender(name)) return s->cls;
    return std::nullopt;
  }

  // A name given twice keeps what it was given last.
  void set(std::string_view name, Sender sender) {
    for (size_t i = 0; i < near_count_; ++i)
      if (near_[i].is(name)) {
        near_[i].sender = sender;
        return;
      }
    auto it = std::lower_bound(far_.begin(), far_.end(), name, before);
    if (it != far_.end() && it->name == name) {
      it->sender = sender;
    } else if (near_count_ < near_.size() && name.size() <= kNearName) {
      Near& n = near_[near_count_++];
      n.size = uint8_t(name.size());
      n.sender = sender;
      std::memcpy(n.name, name.data(), name.size());
    } else {
      far_.insert(it, Far{std::string(name), sender});
    }
  }

 private:
  static constexpr size_t kNearName = 22;  // sender names have at most 20 bytes (SMPP source_addr)
  struct Near {
    uint8_t size = 0;
    Sender sender;
    char name[kNearName];
    bool is(std::string_view other) const { return size == other.size() && same_bytes(name, other.data(), size); }
  };
  struct Far {
    std::string name;
    Sender sender;
  };
  static bool before(const Far& f, std::string_view name) { return f.name < name; }

  std::array<Near, 5> near_{};
  uint8_t near_count_ = 0;
  std::vector<Far> far_;  // sorted by name
};

// The fields a decision reads first come first, with the senders, so that they share cache lines.
struct alignas(64) AccountPolicy {
  std::string name;
  Entity entity = Entity::private_entity;
  bool promotional_via_smpp = false;
  bool reviewed = true;  // review: promotional (the default unless government or bank: true)
  bool require_templates = false;
  bool prepaid = false;
  QuietHours quiet = QuietHours::rule;  // quiet_hours: reject | hold (a sender's own setting wins)
  int throughput = 0;  // 0: no limit
  SenderList senders;
  WordLists official_names;  // one list
  std::vector<std::string> approved_domains;
  std::vector<std::shared_ptr<const RE2>> templates;  // shared by the accounts that list the same template
  std::string confirmation_sender;
  // How confirmations name the account, per Language: its first official name written in that
  // language, else its confirmation_sender.
  std::array<std::string, 2> confirmation_names;
};

// The accounts by name: open addressing over positions in one vector, so that a lookup is a hash
// and a probe or two rather than a walk along a bucket's list.
class AccountIndex {
 public:
  // The first account of a name stands; a later one of the same name is dropped.
  void add(AccountPolicy account) {
    if (find(account.name)) return;
    if (2 * (accounts_.size() + 1) > slots_.size()) grow();
    accounts_.push_back(std::move(account));
    place(uint32_t(accounts_.size() - 1));
  }

  const AccountPolicy* find(std::string_view name) const {
    if (slots_.empty()) return nullptr;
    const uint64_t h = hash_bytes(name);
    const uint32_t check = uint32_t(h >> 32);
    for (size_t i = size_t(h) & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& slot = slots_[i];
      if (slot.index == kEmpty) return nullptr;
      if (slot.check == check && same_bytes(accounts_[slot.index].name, name)) return &accounts_[slot.index];
    }
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Slot {
    uint32_t check = 0;  // the hash's high half: most mismatches need no string comparison
    uint32_t index = kEmpty;
  };

  void grow() {
    slots_.assign(std::max<size_t>(16, slots_.size() * 2), Slot{});
    for (uint32_t i = 0; i < accounts_.size(); ++i) place(i);
  }
  void place(uint32_t index) {
    const uint64_t h = hash_bytes(accounts_[index].name);
    size_t i = size_t(h) & (slots_.size() - 1);
    while (slots_[i].index != kEmpty) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = Slot{uint32_t(h >> 32), index};
  }

  std::vector<AccountPolicy> accounts_;
  std::vector<Slot> slots_;  // a power of two, at most half full
};

struct RamadanYear {
  int hijri_year;
  int64_t first_day, last_day;
};

// The Saudi days that fall in some Ramadan: the years' spans, sorted and merged, for a binary search.
class RamadanDays {
 public:
  void assign(const std::vector<RamadanYear>& years) {
    spans_.clear();
    for (const auto& y : years) spans_.push_back({y.first_day, y.last_day});
    std::sort(spans_.begin(), spans_.end());
    std::vector<std::pair<int64_t, int64_t>> merged;
    for (const auto& s : spans_) {
      if (!merged.empty() && s.first <= merged.back().second + 1) merged.back().second = std::max(merged.back().second, s.second);
      else merged.push_back(s);
    }
    spans_ = std::move(merged);
  }
  bool contains(int64_t day) const {
    // The last span that starts on or before the day.
    auto it = std::upper_bound(spans_.begin(), spans_.end(), day, [](int64_t d, const auto& s) { return d < s.first; });
    return it != spans_.begin() && day <= std::prev(it)->second;
  }

 private:
  std::vector<std::pair<int64_t, int64_t>> spans_;  // [first, last] days, disjoint, sorted
};

struct Window {
  int from, to;  // minutes of the Saudi day; from > to wraps midnight
  bool contains(int minute) const { return from <= to ? (minute >= from && minute < to) : (minute >= from || minute < to); }
};

// Rules whose action may be `hold`: a message outside their window can wait for it.
constexpr bool may_hold(Rule r) { return r == Rule::time_quiet_hours || r == Rule::time_ramadan_hours; }

// Whitespace runs to one space, trimmed: what templates are matched against.
inline void collapse_whitespace(std::string_view text, std::string& out) {
  out.clear();
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
}

inline bool ends_with_ad(std::string_view s) {
  return s.size() >= 3 && s[s.size() - 3] == '-' && (s[s.size() - 2] | 0x20) == 'a' && (s[s.size() - 1] | 0x20) == 'd';
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace detail

using namespace detail;

struct TableData {
  AccountIndex accounts;
  std::array<uint8_t, 4> permissions{};  // per entity: a bit per class
  Window quiet{22 * 60, 9 * 60};
  Window ramadan_hours{1 * 60, 12 * 60};
  std::vector<RamadanYear> ramadan;
  RamadanDays ramadan_days;
  std::unique_ptr<RE2> otp_code;
  std::vector<std::string> otp_labels;  // folded words that may stand beside a bare code; sorted
  WordLists content_words;  // keywords per class, OTP words and reasons: see kOtpWords
  LinkFinder links;
  std::array<Action, size_t(Rule::count)> actions{};
  std::array<uint32_t, size_t(Rule::count)> statuses{};
  std::string version;
  bool enforce = true;
  int awareness_cap = 1;
  std::array<bool, size_t(Rule::count)> pass_when_store_down{};
  std::vector<std::string> stop_words, start_words;  // folded_entry() forms
  // Per Language (english, arabic); {sender} (or the older {account}) is the account's name.
  std::array<std::string, 2> confirm_stop = {"You will no longer receive promotional messages from {sender}.",
                                             "لن تصلك بعد الآن رسائل ترويجية من {sender}."};
  std::array<std::string, 2> confirm_start = {"You are subscribed again to promotional messages from {sender}.",
                                              "تم تفعيل اشتراكك مجددا في الرسائل الترويجية من {sender}."};

  // The window that applies on a Saudi day: Ramadan hours on Ramadan days, quiet hours otherwise.
  const Window& forbidden_window(int64_t day) const { return ramadan_days.contains(day) ? ramadan_hours : quiet; }
  int64_t window_opens(int64_t unix_seconds) const;
};

}  // namespace policy
