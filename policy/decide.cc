// The decision: one pass of the rules over a message at one instant, against the compiled table.
#include <fmt/format.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cstring>

#include "policy/msisdn.h"
#include "policy/saudi_time.h"
#include "policy/table.h"
#include "policy/table_data.h"

namespace policy {

std::string_view rule_id(Rule r) { return r == Rule::none ? std::string_view() : kRules[size_t(r)].id; }

// ---- the decision ----

namespace {

// Whether any code point of a UTF-8 text satisfies `test` (a bad sequence is skipped).
template <typename Test>
bool any_code_point(std::string_view utf8, Test test) {
  int32_t i = 0;
  const int32_t length = int32_t(utf8.size());
  const auto* s = reinterpret_cast<const uint8_t*>(utf8.data());
  while (i < length) {
    UChar32 c;
    U8_NEXT(s, i, length, c);
    if (c >= 0 && test(c)) return true;
  }
  return false;
}

// Reused between decisions on the loop thread: a decision allocates nothing once these have grown.
struct Scratch {
  FoldedText text;
  std::string collapsed, host;
};
thread_local Scratch scratch;

bool host_approved(std::string_view host, const std::vector<std::string>& domains) {
  for (const auto& d : domains) {
    if (host == d) return true;
    if (host.size() > d.size() && host.ends_with(d) && host[host.size() - d.size() - 1] == '.') return true;
  }
  return false;
}

class Decision {
 public:
  Decision(const TableData& t, const Message& m, const Context& c, Trace* trace) : t_(t), m_(m), c_(c), trace_(trace) {}

  Verdict run() {
    account_ = t_.accounts.find(m_.account);
    resolve_class();
    bool promo_or_awareness = known_ && (cls_ == MessageClass::promotional || cls_ == MessageClass::awareness);
    check(Rule::content_not_inspectable, promo_or_awareness && m_.whole_text, [&] { return m_.text_inspectable; });
    check(Rule::class_personal, true, [&] { return !(known_ && cls_ == MessageClass::personal); });
    check(Rule::sender_ad_suffix, !known_, [&] { return !ends_with_ad(trim(m_.source)); });
    check(Rule::sender_not_registered, true, [&] { return known_; });
    check(Rule::class_not_permitted, known_ && account_, [&] {
      return (t_.permissions[size_t(account_->entity)] & bit(cls_)) != 0;
    });
    bool promotional = known_ && cls_ == MessageClass::promotional;
    check(Rule::sender_mobile_promotional, promotional, [&] { return !is_saudi_mobile(trim(m_.source)); });
    check(Rule::channel_s2s_promotional, promotional, [&] {
      return account_->promotional_via_smpp || c_.channel != Channel::smpp_bind;
    });
    SaudiTime when = saudi_time(c_.unix_seconds);
    bool ramadan = t_.ramadan_days.contains(when.day);
    check(Rule::time_quiet_hours, promo_or_awareness && !ramadan, [&] { return !t_.quiet.contains(when.minute); });
    check(Rule::time_ramadan_hours, promo_or_awareness && ramadan, [&] { return !t_.ramadan_hours.contains(when.minute); });
    bool readable = m_.text_inspectable && m_.whole_text && account_;
    check(Rule::awareness_official_name, readable && known_ && cls_ == MessageClass::awareness, [&] {
      return account_->official_names.found(folded()) != 0;
    });
    check(Rule::content_template_mismatch, readable && account_->require_templates, [&] { return matches_template(); });
    check(Rule::content_keyword_mismatch, readable && known_, [&] {
      return (content_words() & kKeywordLists & ~uint32_t(bit(cls_))) == 0;  // no vocabulary of another class
    });
    check(Rule::content_link_domain, readable && account_->entity != Entity::government, [&] { return links_approved(); });
    check(Rule::otp_no_reason, readable && t_.otp_code, [&] {
      if (bare_code()) return false;  // nothing but a code: there is no room for a reason
      // The words before the pattern: they are known by now, and most texts have none.
      bool otp = (content_words() >> kOtpWords & 1) && RE2::PartialMatch(folded().spaced(), *t_.otp_code);
      return !otp || (content_words() >> kOtpReasons & 1);
    });
    verdict_.message_class = known_ ? cls_ : MessageClass::service;
    return verdict_;
  }

 private:
  void resolve_class() {
    std::string_view source = trim(m_.source);
    if (account_) {
      if (auto sender = account_->senders.find_sender(source)) {
        known_ = true;
        cls_ = sender->cls;
        sender_quiet_ = sender->quiet;
        return;
      }
    }
    // A mobile number that is not a registered sender is a person writing to a person.
    if (is_saudi_mobile(source)) {
      known_ = true;
      cls_ = MessageClass::personal;
    }
  }

  // The text folded for the content rules: once per message, and only if one of them reads it.
  const FoldedText& folded() {
    if (!folded_) {
      scratch.text.fold(m_.text);
      folded_ = true;
    }
    return scratch.text;
  }

  // The content word lists found in the text, a bit each: one pass finds them all.
  uint32_t content_words() {
    if (!content_words_known_) {
      content_words_ = t_.content_words.found(folded());
      content_words_known_ = true;
    }
    return content_words_;
  }

  // R-OTP-REASON's plainest case (docs/policy.md): the folded text is one run of 4 to 8 digits
  // (folding made every script's digits ASCII and punctuation spaces), with nothing before or
  // after it but label words, and the text has no currency sign ("$4821" is a price). Read word
  // by word from the start, so that most texts are done with at their first word.
  bool bare_code() {
    const std::string_view text = folded().spaced();
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    size_t first = 0;  // where the digits start
    while (first < text.size() && !digit(text[first])) {
      const size_t space = std::min(text.find(' ', first), text.size());
      size_t end = first;
      while (end < space && !digit(text[end])) ++end;  // a label may run into the code: "code4821"
      if (!is_label(text.substr(first, end - first))) return false;
      first = end < space ? end : space + 1;
    }
    size_t end = first;
    while (end < text.size() && digit(text[end])) ++end;
    if (end - first < 4 || end - first > 8) return false;
    const std::string_view rest = text.substr(end);
    return only_labels(rest) && std::none_of(rest.begin(), rest.end(), digit) && !has_currency_sign(m_.text);
  }

  bool is_label(std::string_view word) const {
    return std::binary_search(t_.otp_labels.begin(), t_.otp_labels.end(), word);
  }

  bool only_labels(std::string_view words) const {
    for (size_t at = 0; at < words.size();) {
      const size_t space = std::min(words.find(' ', at), words.size());
      if (space > at && !is_label(words.substr(at, space - at))) return false;
      at = space + 1;
    }
    return true;
  }

  static bool has_currency_sign(std::string_view utf8) {
    return any_code_point(utf8, [](UChar32 c) { return u_charType(c) == U_CURRENCY_SYMBOL; });
  }


  bool matches_template() const {
    collapse_whitespace(m_.text, scratch.collapsed);
    for (const auto& t : account_->templates)
      if (RE2::FullMatch(scratch.collapsed, *t)) return true;
    return false;
  }

  bool links_approved() const {
    return t_.links.each(m_.text, [&](std::string_view scheme, std::string_view host) {
      scratch.host.assign(host);
      for (char& ch : scratch.host) ch = char(std::tolower(static_cast<unsigned char>(ch)));
      if (scheme.empty() && !common_top_level_domain(scratch.host)) return true;  // "Mr.Smith": not a link
      return host_approved(scratch.host, account_->approved_domains);
    });
  }

  // Runs one rule: `applies` says whether it concerns this message at all; `passes` decides.
  // The rule's action for this message: for the time rules, the sender's quiet_hours setting,
  // else the account's, else the rule's own (a rule that is off stays off).
  Action action_of(Rule r) const {
    Action action = t_.actions[size_t(r)];
    if (!may_hold(r) || action == Action::off) return action;
    QuietHours q = sender_quiet_ != QuietHours::rule ? sender_quiet_ : account_ ? account_->quiet : QuietHours::rule;
    if (q == QuietHours::reject) return Action::reject;
    if (q == QuietHours::hold) return Action::hold;
    return action;
  }

  // A time rule said wait: the message is held until its window opens, unless a later rule
  // refuses it (the other rules still run, so that what would be refused is refused now).
  void hold(Rule r) {
    if (verdict_.outcome == Outcome::hold) return;
    verdict_.outcome = Outcome::hold;
    verdict_.rule = r;
    verdict_.status = t_.statuses[size_t(r)];
    verdict_.hold_until_s = t_.window_opens(c_.unix_seconds);
  }

  template <typename Passes>
  void check(Rule r, bool applies, Passes passes) {
    Action action = action_of(r);
    if (!applies || (decided_ && !trace_)) return note(r, applies ? Trace::Result::passed : Trace::Result::not_applicable);
    if (action == Action::off) return note(r, Trace::Result::off);
    if (passes()) return note(r, Trace::Result::passed);
    note(r, Trace::Result::failed);
    if (decided_) return;  // with a trace, later rules are still evaluated, for explain
    if (action == Action::hold) return hold(r);
    if (action == Action::reject) {
      verdict_.hold_until_s = 0;
      decided_ = true;
      verdict_.outcome = Outcome::reject;
      verdict_.rule = r;
      verdict_.status = t_.statuses[size_t(r)];
      return;
    }
    verdict_.flagged |= 1u << unsigned(r);
    if (verdict_.outcome == Outcome::accept) {
      verdict_.outcome = Outcome::flag;
      verdict_.rule = r;
    }
  }

  void note(Rule r, Trace::Result result) {
    if (trace_) trace_->results[size_t(r)] = result;
  }

  const TableData& t_;
  const Message& m_;
  const Context& c_;
  Trace* trace_;
  const AccountPolicy* account_ = nullptr;
  bool known_ = false;
  MessageClass cls_ = MessageClass::service;
  QuietHours sender_quiet_ = QuietHours::rule;
  bool decided_ = false;
  bool folded_ = false;
  bool content_words_known_ = false;
  uint32_t content_words_ = 0;
  Verdict verdict_;
};

}  // namespace

Table::Table(std::unique_ptr<TableData> data) : data_(std::move(data)) {}
Table::~Table() = default;

// Walks forward from the instant: while it is inside the window of the day it falls on, to the
// window's end that day, or to the next midnight when the window runs past it (the next day may
// have the other window: the night before Ramadan opens at 00:00 of its first day, whose window
// starts at 01:00). A few steps at most: windows are shorter than a day.
int64_t TableData::window_opens(int64_t unix_seconds) const {
  const SaudiTime start = saudi_time(unix_seconds);
  int64_t day = start.day;
  int minute = start.minute;
  for (int step = 0; step < 8; ++step) {
    const Window& w = forbidden_window(day);
    if (!w.contains(minute)) break;
    if (w.to > minute) {
      minute = w.to;
    } else {
      ++day;
      minute = 0;
    }
  }
  if (day == start.day && minute == start.minute) return unix_seconds;
  return day * 86400 + minute * 60 - kSaudiOffsetSeconds;
}

int64_t Table::window_opens(int64_t unix_seconds) const { return data_->window_opens(unix_seconds); }

Verdict Table::decide(const Message& message, const Context& context, Trace* trace) const {
  return Decision(*data_, message, context, trace).run();
}

bool Table::enforcing() const { return data_->enforce; }

StateNeeds Table::state_needs(const Message& m, const Verdict& v) const {
  StateNeeds needs;
  const AccountPolicy* a = data_->accounts.find(m.account);
  // A held message takes nothing now: its stateful rules are decided when it is released.
  if (!a || v.outcome == Outcome::reject || v.outcome == Outcome::hold) return needs;
  auto on = [&](Rule r) { return data_->actions[size_t(r)] != Action::off; };
  needs.throughput = a->throughput > 0 && on(Rule::account_throughput);
  needs.rate = a->throughput;
  needs.opt_out = v.message_class == MessageClass::promotional && on(Rule::recipient_opted_out);
  needs.awareness = v.message_class == MessageClass::awareness && on(Rule::awareness_daily_cap);
  needs.awareness_cap = data_->awareness_cap;
  needs.charge = a->prepaid && on(Rule::account_balance);
  return needs;
}

bool Table::passes_when_store_down(Rule r) const { return data_->pass_when_store_down[size_t(r)]; }

Rule Table::blocking_when_store_down(const StateNeeds& needs) const {
  for (size_t i = 0; i < size_t(Rule::count); ++i) {
    Rule r = Rule(i);
    if (is_stateful(r) && needs.needs(r) && !passes_when_store_down(r)) return r;
  }
  return Rule::none;
}

OptOutWord Table::opt_out_word(std::string_view text) const {
  const std::string word = folded_entry(text);
  auto listed = [&](const std::vector<std::string>& words) { return std::find(words.begin(), words.end(), word) != words.end(); };
  if (listed(data_->stop_words)) return OptOutWord::stop;
  if (listed(data_->start_words)) return OptOutWord::start;
  return OptOutWord::none;
}

Language language_of(std::string_view utf8) {
  const bool arabic = any_code_point(utf8, [](UChar32 c) {
    return (c >= 0x0600 && c <= 0x06FF) || (c >= 0x0750 && c <= 0x077F) || (c >= 0xFB50 && c <= 0xFDFF) ||
           (c >= 0xFE70 && c <= 0xFEFF);
  });
  return arabic ? Language::arabic : Language::english;
}

namespace {

void replace_all(std::string& text, std::string_view placeholder, std::string_view value) {
  for (size_t at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder, at + value.size()))
    text.replace(at, placeholder.size(), value);
}

}  // namespace

bool Table::confirmation(std::string_view account, OptOutWord word, Language language, std::string& sender,
                         std::string& text) const {
  const AccountPolicy* a = data_->accounts.find(account);
  if (!a || a->confirmation_sender.empty() || word == OptOutWord::none) return false;
  sender = a->confirmation_sender;
  text = (word == OptOutWord::stop ? data_->confirm_stop : data_->confirm_start)[size_t(language)];
  // The account as the user knows it, never its system_id; {account} is the older spelling.
  const std::string& name = a->confirmation_names[size_t(language)];
  replace_all(text, "{sender}", name);
  replace_all(text, "{account}", name);
  return true;
}

bool Table::has_account(std::string_view account) const { return data_->accounts.find(account) != nullptr; }

bool Table::reviews(std::string_view account, MessageClass message_class) const {
  const AccountPolicy* a = data_->accounts.find(account);
  return a && a->reviewed && message_class == MessageClass::promotional;
}

int Table::throughput(std::string_view account) const {
  const AccountPolicy* a = data_->accounts.find(account);
  return a ? a->throughput : 0;
}
const std::string& Table::version() const { return data_->version; }
Action Table::action(Rule r) const { return data_->actions[size_t(r)]; }
uint32_t Table::status(Rule r) const { return data_->statuses[size_t(r)]; }

bool Table::ramadan_days(int hijri_year, int64_t& first, int64_t& last) const {
  for (const auto& y : data_->ramadan)
    if (y.hijri_year == hijri_year) {
      first = y.first_day;
      last = y.last_day;
      return true;
    }
  return false;
}

}  // namespace policy
