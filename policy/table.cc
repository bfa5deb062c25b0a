// The policy compiler and the decision: YAML to an immutable table, then one pass of the rules.
#include "policy/table.h"

#include <re2/re2.h>
#include <unicode/calendar.h>
#include <unicode/gregocal.h>
#include <unicode/locid.h>
#include <unicode/timezone.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <optional>

#include "policy/hash.h"
#include "policy/links.h"
#include "policy/msisdn.h"
#include "policy/saudi_time.h"
#include "policy/words.h"

namespace policy {

std::string Diagnostic::to_string() const {
  if (line == 0) return fmt::format("{}: {}", file, message);
  return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

namespace {

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

// An account's sender names. The first few are kept inside the account's record, beside the
// fields every decision reads, so that finding the sender costs no cache miss of its own; any
// more (or longer) are kept sorted apart.
class SenderList {
 public:
  std::optional<MessageClass> find(std::string_view name) const {
    for (size_t i = 0; i < near_count_; ++i)
      if (near_[i].is(name)) return near_[i].cls;
    auto it = std::lower_bound(far_.begin(), far_.end(), name, before);
    if (it != far_.end() && it->name == name) return it->cls;
    return std::nullopt;
  }

  // A name given twice keeps the class it was given last.
  void set(std::string_view name, MessageClass cls) {
    for (size_t i = 0; i < near_count_; ++i)
      if (near_[i].is(name)) {
        near_[i].cls = cls;
        return;
      }
    auto it = std::lower_bound(far_.begin(), far_.end(), name, before);
    if (it != far_.end() && it->name == name) {
      it->cls = cls;
    } else if (near_count_ < near_.size() && name.size() <= kNearName) {
      Near& n = near_[near_count_++];
      n.size = uint8_t(name.size());
      n.cls = cls;
      std::memcpy(n.name, name.data(), name.size());
    } else {
      far_.insert(it, Far{std::string(name), cls});
    }
  }

 private:
  static constexpr size_t kNearName = 22;  // sender names have at most 20 bytes (SMPP source_addr)
  struct Near {
    uint8_t size = 0;
    MessageClass cls = MessageClass::service;
    char name[kNearName];
    bool is(std::string_view other) const { return size == other.size() && same_bytes(name, other.data(), size); }
  };
  struct Far {
    std::string name;
    MessageClass cls;
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
  bool require_templates = false;
  bool prepaid = false;
  int throughput = 0;  // 0: no limit
  SenderList senders;
  WordLists official_names;  // one list
  std::vector<std::string> approved_domains;
  std::vector<std::shared_ptr<const RE2>> templates;  // shared by the accounts that list the same template
  std::string confirmation_sender;
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

// Whitespace runs to one space, trimmed: what templates are matched against.
void collapse_whitespace(std::string_view text, std::string& out) {
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

bool ends_with_ad(std::string_view s) {
  return s.size() >= 3 && s[s.size() - 3] == '-' && (s[s.size() - 2] | 0x20) == 'a' && (s[s.size() - 1] | 0x20) == 'd';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

struct TableData {
  AccountIndex accounts;
  std::array<uint8_t, 4> permissions{};  // per entity: a bit per class
  Window quiet{22 * 60, 9 * 60};
  Window ramadan_hours{1 * 60, 12 * 60};
  std::vector<RamadanYear> ramadan;
  RamadanDays ramadan_days;
  std::unique_ptr<RE2> otp_code;
  WordLists content_words;  // keywords per class, OTP words and reasons: see kOtpWords
  LinkFinder links;
  std::array<Action, size_t(Rule::count)> actions{};
  std::array<uint32_t, size_t(Rule::count)> statuses{};
  std::string version;
  bool enforce = true;
  int awareness_cap = 1;
  std::array<bool, size_t(Rule::count)> pass_when_store_down{};
  std::vector<std::string> stop_words, start_words;  // folded_entry() forms
  std::string confirm_stop = "You will no longer receive promotional messages from {account}.";
  std::string confirm_start = "You are subscribed again to promotional messages from {account}.";
};

std::string_view rule_id(Rule r) { return r == Rule::none ? std::string_view() : kRules[size_t(r)].id; }

// ---- the decision ----

namespace {

// Reused between decisions on the loop thread: a decision allocates nothing once these have grown.
struct Scratch {
  FoldedText text;
  std::string collapsed, host;
};
thread_local Scratch scratch;

bool common_top_level_domain(std::string_view host) {
  std::string_view tld = host.substr(host.rfind('.') + 1);
  for (std::string_view t : {"com", "net", "org", "sa", "info", "io", "me", "co", "app", "link", "ly", "site", "online",
                             "store", "shop", "xyz", "gov", "edu", "biz", "example", "test"})
    if (tld == t) return true;
  return false;
}

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
      if (auto cls = account_->senders.find(source)) {
        known_ = true;
        cls_ = *cls;
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
  template <typename Passes>
  void check(Rule r, bool applies, Passes passes) {
    Action action = t_.actions[size_t(r)];
    if (!applies || (decided_ && !trace_)) return note(r, applies ? Trace::Result::passed : Trace::Result::not_applicable);
    if (action == Action::off) return note(r, Trace::Result::off);
    if (passes()) return note(r, Trace::Result::passed);
    note(r, Trace::Result::failed);
    if (decided_) return;  // with a trace, later rules are still evaluated, for explain
    if (action == Action::reject) {
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
  bool decided_ = false;
  bool folded_ = false;
  bool content_words_known_ = false;
  uint32_t content_words_ = 0;
  Verdict verdict_;
};

}  // namespace

Table::Table(std::unique_ptr<TableData> data) : data_(std::move(data)) {}
Table::~Table() = default;

Verdict Table::decide(const Message& message, const Context& context, Trace* trace) const {
  return Decision(*data_, message, context, trace).run();
}

bool Table::enforcing() const { return data_->enforce; }

StateNeeds Table::state_needs(const Message& m, const Verdict& v) const {
  StateNeeds needs;
  const AccountPolicy* a = data_->accounts.find(m.account);
  if (!a || v.outcome == Outcome::reject) return needs;
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

OptOutWord Table::opt_out_word(std::string_view text) const {
  const std::string word = folded_entry(text);
  auto listed = [&](const std::vector<std::string>& words) { return std::find(words.begin(), words.end(), word) != words.end(); };
  if (listed(data_->stop_words)) return OptOutWord::stop;
  if (listed(data_->start_words)) return OptOutWord::start;
  return OptOutWord::none;
}

bool Table::confirmation(std::string_view account, OptOutWord word, std::string& sender, std::string& text) const {
  const AccountPolicy* a = data_->accounts.find(account);
  if (!a || a->confirmation_sender.empty() || word == OptOutWord::none) return false;
  sender = a->confirmation_sender;
  text = word == OptOutWord::stop ? data_->confirm_stop : data_->confirm_start;
  for (size_t at = text.find("{account}"); at != std::string::npos; at = text.find("{account}", at + account.size()))
    text.replace(at, 9, account);
  return true;
}

bool Table::has_account(std::string_view account) const { return data_->accounts.find(account) != nullptr; }
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

// ---- the compiler ----

namespace {

constexpr int kFirstHijriYear = 1440;  // 2018: the computed calendar covers these years
constexpr int kLastHijriYear = 1480;   // 2058

// Ramadan (month 9) of a Hijri year as Saudi calendar days, from ICU's Umm al-Qura calendar.
bool computed_ramadan(int hijri_year, int64_t& first, int64_t& last) {
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::Calendar> cal(
      icu::Calendar::createInstance(icu::TimeZone::getGMT()->clone(), icu::Locale("@calendar=islamic-umalqura"), status));
  if (U_FAILURE(status)) return false;
  auto day_of = [&](int month) {
    cal->clear();
    cal->set(UCAL_EXTENDED_YEAR, hijri_year);
    cal->set(UCAL_MONTH, month);
    cal->set(UCAL_DATE, 1);
    UDate ms = cal->getTime(status);
    return int64_t(ms / 86400000.0);  // the civil date's day number (midnight in GMT)
  };
  first = day_of(8);     // Ramadan (0-based month 8)
  last = day_of(9) - 1;  // the day before 1 Shawwal
  return U_SUCCESS(status);
}

}  // namespace

struct Compiler::State {
  std::unique_ptr<TableData> data = std::make_unique<TableData>();
  std::vector<Diagnostic> diagnostics;
  std::map<int, std::pair<int64_t, int64_t>> ramadan_overrides;
  // One compiled pattern per distinct template: many accounts list the same ones, and each RE2
  // builds its own DFA as it meets new texts.
  std::map<std::string, std::shared_ptr<const RE2>, std::less<>> templates;
  std::vector<std::string> otp_words = {"otp", "code", "password", "passcode", "pin", "رمز", "كود", "كلمة المرور", "رقم سري"};
  std::vector<std::string> otp_reasons = {"login", "log in", "sign in", "payment", "transfer", "verify", "verification",
                                          "purchase", "تسجيل", "دخول", "دفع", "تحويل", "عملية", "شراء", "تحقق", "التحقق"};
  std::string otp_code = R"(\b\d{4,8}\b)";
  std::vector<std::string> stop_words = {"stop", "unsubscribe", "إيقاف", "ايقاف", "الغاء", "إلغاء", "توقف"};
  std::vector<std::string> start_words = {"start", "subscribe", "اشتراك", "تفعيل"};
  std::array<std::vector<std::string>, 5> keywords;
  uint64_t fingerprint = 1469598103934665603ull;  // FNV-1a over what was compiled
  bool saw_rules = false;

  void error(const YAML::Node& at, const std::string& file, const std::string& message) {
    YAML::Mark m = at.Mark();
    diagnostics.push_back({file, m.line + 1, m.column + 1, message});
  }
  void hash(std::string_view s) {
    for (unsigned char c : s) fingerprint = (fingerprint ^ c) * 1099511628211ull;
  }
};

Compiler::Compiler() : state_(std::make_unique<State>()) {
  auto& d = *state_->data;
  for (size_t r = 0; r < kRules.size(); ++r) {
    d.actions[r] = kRules[r].action;
    d.statuses[r] = kRules[r].status;
  }
  // Throughput is a protection, not a regulation: without the store it lets traffic through.
  d.pass_when_store_down[size_t(Rule::account_throughput)] = true;
  auto set = [&](Entity e, std::initializer_list<MessageClass> classes) {
    for (auto c : classes) d.permissions[size_t(e)] |= bit(c);
  };
  using C = MessageClass;
  set(Entity::government, {C::service, C::awareness, C::warning});
  set(Entity::private_entity, {C::promotional, C::service, C::awareness});
  set(Entity::individual, {C::service});
  set(Entity::foreign, {C::service});
  state_->keywords[size_t(C::promotional)] = {"discount", "offer", "sale", "خصم", "عرض", "عروض", "تخفيض", "تخفيضات"};
}

Compiler::~Compiler() = default;

const std::vector<Diagnostic>& Compiler::diagnostics() const { return state_->diagnostics; }

void Compiler::add_source(std::string_view text) { state_->hash(text); }

namespace {

std::optional<MessageClass> parse_class(std::string_view s) {
  for (size_t i = 0; i < kClassNames.size(); ++i)
    if (kClassNames[i] == s && MessageClass(i) != MessageClass::personal) return MessageClass(i);
  return std::nullopt;
}

std::optional<Entity> parse_entity(std::string_view s) {
  for (size_t i = 0; i < kEntityNames.size(); ++i)
    if (kEntityNames[i] == s) return Entity(i);
  return std::nullopt;
}

std::optional<int> parse_hhmm(std::string_view s) {
  int h = 0, m = 0;
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  auto [p1, e1] = std::from_chars(s.data(), s.data() + 2, h);
  auto [p2, e2] = std::from_chars(s.data() + 3, s.data() + 5, m);
  if (e1 != std::errc() || e2 != std::errc() || p1 != s.data() + 2 || p2 != s.data() + 5 || h > 23 || m > 59)
    return std::nullopt;
  return h * 60 + m;
}

std::optional<int64_t> parse_date(std::string_view s) {
  int y = 0, mo = 0, d = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  std::from_chars(s.data(), s.data() + 4, y);
  std::from_chars(s.data() + 5, s.data() + 7, mo);
  std::from_chars(s.data() + 8, s.data() + 10, d);
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] + (mo == 2 && leap)) return std::nullopt;
  return days_from_civil(y, mo, d);
}

bool allowed_status(uint32_t s) {
  if (s >= 0x400 && s <= 0x4FF) return true;
  for (uint32_t standard : {0x01u, 0x0Au, 0x0Bu, 0x45u, 0x58u, 0x61u, 0x62u, 0x63u, 0x64u, 0x65u, 0x66u, 0xFFu})
    if (s == standard) return true;
  return false;
}

std::optional<Rule> parse_rule(std::string_view id) {
  for (size_t r = 0; r < kRules.size(); ++r)
    if (kRules[r].id == id) return Rule(r);
  return std::nullopt;
}

// "Your code is {code} for {purpose}" -> ^Your code is (.+?) for (.+?)$ with literals escaped.
std::optional<std::string> template_pattern(std::string_view text) {
  std::string collapsed, pattern;
  collapse_whitespace(text, collapsed);
  size_t i = 0;
  while (i < collapsed.size()) {
    size_t open = collapsed.find('{', i);
    pattern += RE2::QuoteMeta(collapsed.substr(i, open == std::string::npos ? std::string::npos : open - i));
    if (open == std::string::npos) break;
    size_t close = collapsed.find('}', open);
    if (close == std::string::npos || close == open + 1) return std::nullopt;
    pattern += "(.+?)";
    i = close + 1;
  }
  return pattern;
}

}  // namespace

namespace {

// The account keys the compiler reads: is_account_key() answers from this table, and
// add_account() finds them all in one pass over an account (yaml-cpp's operator[] walks the
// mapping and converts every key, for each key asked).
constexpr std::string_view kAccountKeys[] = {"entity", "senders", "official_names", "promotional_via_smpp",
                                             "approved_domains", "require_templates", "templates", "throughput",
                                             "balance", "confirmation_sender"};

class AccountFields {
 public:
  explicit AccountFields(const YAML::Node& account) {
    for (const auto& kv : account) {
      const std::string key = kv.first.as<std::string>("");
      for (size_t i = 0; i < std::size(kAccountKeys); ++i)
        if (!given_[i] && kAccountKeys[i] == key) {  // the first of a repeated key, as operator[] does
          nodes_[i] = kv.second;
          given_[i] = true;
          break;
        }
    }
  }
  // The value under `key`, or an undefined node (false) as operator[] gives for a missing key.
  YAML::Node operator[](std::string_view key) const {
    for (size_t i = 0; i < std::size(kAccountKeys); ++i)
      if (kAccountKeys[i] == key) return given_[i] ? nodes_[i] : missing();
    return missing();
  }

 private:
  static YAML::Node missing() {
    static const YAML::Node undefined(YAML::NodeType::Undefined);
    return undefined;
  }
  std::array<YAML::Node, std::size(kAccountKeys)> nodes_;
  std::array<bool, std::size(kAccountKeys)> given_{};
};

}  // namespace

bool Compiler::is_account_key(std::string_view key) {
  return std::find(std::begin(kAccountKeys), std::end(kAccountKeys), key) != std::end(kAccountKeys);
}

void Compiler::add_rules(const YAML::Node& policy, const std::string& file) {
  State& s = *state_;
  TableData& d = *s.data;
  auto err = [&](const YAML::Node& at, const std::string& msg) { s.error(at, file, msg); };
  if (!policy.IsMap()) return err(policy, "policy must be a mapping");
  // A list of words replaces the default list (an empty list turns it off).
  auto read_words = [&](const YAML::Node& n, std::vector<std::string>& list, const std::string& what) {
    list.clear();
    if (!n.IsSequence()) return err(n, fmt::format("{} must be a list of words", what));
    for (const auto& w : n) list.push_back(w.as<std::string>(""));
  };
  for (const auto& kv : policy) {
    std::string key = kv.first.as<std::string>("");
    const YAML::Node& v = kv.second;
    if (key == "awareness_cap") {
      int cap = v.as<int>(-1);
      if (cap < 1 || cap > 100) err(v, "awareness_cap must be a whole number from 1 to 100");
      else d.awareness_cap = cap;
    } else if (key == "opt_out") {
      if (!v.IsMap()) {
        err(v, "policy.opt_out must be a mapping");
        continue;
      }
      for (const auto& ov : v) {
        std::string k = ov.first.as<std::string>("");
        if (k == "stop_words" || k == "start_words") {
          auto& list = k == "stop_words" ? s.stop_words : s.start_words;
          read_words(ov.second, list, "opt_out." + k);
        } else if (k == "confirm_stop") {
          d.confirm_stop = ov.second.as<std::string>("");
        } else if (k == "confirm_start") {
          d.confirm_start = ov.second.as<std::string>("");
        } else {
          err(ov.first, fmt::format("unknown key '{}' in policy.opt_out (stop_words, start_words, confirm_stop, confirm_start)", k));
        }
      }
    } else if (key == "mode") {
      std::string mode = v.as<std::string>("");
      if (mode == "enforce") d.enforce = true;
      else if (mode == "off") d.enforce = false;
      else err(v, fmt::format("policy.mode '{}' is not enforce or off", mode));
    } else if (key == "permissions") {
      if (!v.IsMap()) {
        err(v, "policy.permissions must map each entity to a list of classes");
        continue;
      }
      for (const auto& ev : v) {
        auto entity = parse_entity(ev.first.as<std::string>(""));
        if (!entity) {
          err(ev.first, fmt::format("unknown entity '{}' (government, private, individual, foreign)", ev.first.as<std::string>("")));
          continue;
        }
        d.permissions[size_t(*entity)] = 0;
        if (!ev.second.IsSequence()) {
          err(ev.second, "permissions: a list of classes");
          continue;
        }
        for (const auto& c : ev.second) {
          auto cls = parse_class(c.as<std::string>(""));
          if (!cls) err(c, fmt::format("unknown class '{}' (promotional, service, awareness, warning)", c.as<std::string>("")));
          else d.permissions[size_t(*entity)] |= bit(*cls);
        }
      }
    } else if (key == "quiet_hours" || key == "ramadan_hours") {
      Window& w = key == "quiet_hours" ? d.quiet : d.ramadan_hours;
      if (!v.IsMap() || !v["from"] || !v["to"]) {
        err(v, fmt::format("{} needs from: \"HH:MM\" and to: \"HH:MM\"", key));
        continue;
      }
      auto from = parse_hhmm(v["from"].as<std::string>("")), to = parse_hhmm(v["to"].as<std::string>(""));
      if (!from) err(v["from"], fmt::format("'{}' is not a time HH:MM", v["from"].as<std::string>("")));
      if (!to) err(v["to"], fmt::format("'{}' is not a time HH:MM", v["to"].as<std::string>("")));
      if (from && to) w = Window{*from, *to};
    } else if (key == "ramadan") {
      // Looked into only once it is a mapping: yaml-cpp's operator[] throws on a scalar, and a
      // missing key gives a node that throws when asked its type.
      if (!v.IsMap() || (v.size() && !v["overrides"])) {
        err(v, "ramadan takes overrides: { YEAR: { first: YYYY-MM-DD, last: YYYY-MM-DD } }");
        continue;
      }
      YAML::Node overrides = v["overrides"];
      if (!overrides) continue;  // `ramadan: {}`: ICU's dates for every year
      if (!overrides.IsMap()) {
        err(overrides, "ramadan.overrides must map Hijri years to { first, last }");
        continue;
      }
      for (const auto& yv : overrides) {
        int year = yv.first.as<int>(0);
        if (year < kFirstHijriYear || year > kLastHijriYear) {
          err(yv.first, fmt::format("Hijri year between {} and {}", kFirstHijriYear, kLastHijriYear));
          continue;
        }
        if (!yv.second.IsMap()) {  // operator[] below would throw on a scalar
          err(yv.second, fmt::format("ramadan override {} takes {{ first: YYYY-MM-DD, last: YYYY-MM-DD }}", year));
          continue;
        }
        constexpr int64_t kNoDate = INT64_MIN;
        auto date_at = [&](const char* key) {
          YAML::Node n = yv.second[key];
          int64_t day = n ? parse_date(n.as<std::string>("")).value_or(kNoDate) : kNoDate;
          if (day == kNoDate) err(n ? n : yv.second, fmt::format("ramadan override {}: '{}' is not a date YYYY-MM-DD", key, n ? n.as<std::string>("") : ""));
          return day;
        };
        int64_t first = date_at("first"), last = date_at("last");
        if (first == kNoDate || last == kNoDate) continue;
        if (last < first || last - first > 30) {
          err(yv.second, "a Ramadan override's last day must follow its first by at most 30 days");
          continue;
        }
        s.ramadan_overrides[year] = {first, last};
      }
    } else if (key == "otp") {
      if (!v.IsMap()) {
        err(v, "policy.otp must be a mapping");
        continue;
      }
      for (const auto& ov : v) {
        std::string k = ov.first.as<std::string>("");
        if (k == "code") {
          s.otp_code = ov.second.as<std::string>("");
          RE2 probe(s.otp_code, RE2::Quiet);
          if (!probe.ok()) err(ov.second, fmt::format("otp.code is not a valid pattern: {}", probe.error()));
        } else if (k == "words" || k == "reasons") {
          auto& list = k == "words" ? s.otp_words : s.otp_reasons;
          read_words(ov.second, list, "otp." + k);
        } else {
          err(ov.first, fmt::format("unknown key '{}' in policy.otp (code, words, reasons)", k));
        }
      }
    } else if (key == "keywords") {
      if (!v.IsMap()) {
        err(v, "policy.keywords must map classes to word lists");
        continue;
      }
      for (const auto& kw : v) {
        auto cls = parse_class(kw.first.as<std::string>(""));
        if (!cls) {
          err(kw.first, fmt::format("unknown class '{}'", kw.first.as<std::string>("")));
          continue;
        }
        auto& list = s.keywords[size_t(*cls)];
        read_words(kw.second, list, "keywords." + kw.first.as<std::string>(""));
      }
    } else if (key == "rules") {
      if (!v.IsMap()) {
        err(v, "policy.rules must map rule ids to { action, status }");
        continue;
      }
      for (const auto& rv : v) {
        auto rule = parse_rule(rv.first.as<std::string>(""));
        if (!rule) {
          err(rv.first, fmt::format("unknown rule '{}' (see docs/policy.md)", rv.first.as<std::string>("")));
          continue;
        }
        // operator[] throws on a scalar and iterating a list as a map throws: `rule: flag` must be
        // an error, not a terminate (in `hajib check`, or in the proxy on SIGHUP). An empty rule
        // (`rule:`) stays accepted, as before.
        if (!rv.second.IsMap()) {
          if (!rv.second.IsNull()) err(rv.second, "a rule takes { action, status, when_store_down }");
          continue;
        }
        if (YAML::Node a = rv.second["action"]) {
          std::string action = a.as<std::string>("");
          if (action == "reject") d.actions[size_t(*rule)] = Action::reject;
          else if (action == "flag") d.actions[size_t(*rule)] = Action::flag;
          else if (action == "off") d.actions[size_t(*rule)] = Action::off;
          else err(a, fmt::format("action '{}' is not reject, flag or off", action));
        }
        if (YAML::Node st = rv.second["status"]) {
          std::string text = st.as<std::string>("");
          char* end = nullptr;
          unsigned long value = std::strtoul(text.c_str(), &end, 0);
          if (text.empty() || *end != '\0' || !allowed_status(uint32_t(value)))
            err(st, fmt::format("status '{}' must be an SMPP error code or a vendor code 0x400-0x4FF", text));
          else
            d.statuses[size_t(*rule)] = uint32_t(value);
        }
        if (YAML::Node down = rv.second["when_store_down"]) {
          std::string what = down.as<std::string>("");
          if (what == "pass") d.pass_when_store_down[size_t(*rule)] = true;
          else if (what == "refuse") d.pass_when_store_down[size_t(*rule)] = false;
          else err(down, fmt::format("when_store_down '{}' is not refuse or pass", what));
        }
        for (const auto& f : rv.second)
          if (std::string k = f.first.as<std::string>(""); k != "action" && k != "status" && k != "when_store_down")
            err(f.first, fmt::format("unknown key '{}' in a rule (action, status, when_store_down)", k));
      }
    } else {
      err(kv.first, fmt::format("unknown key '{}' in policy", key));
    }
  }
}

void Compiler::add_account(const std::string& name, const YAML::Node& account, const std::string& file) {
  State& s = *state_;
  auto err = [&](const YAML::Node& at, const std::string& msg) { s.error(at, file, msg); };
  if (!account.IsMap()) return;  // the config loader reports that
  s.hash(name);
  const AccountFields fields(account);
  AccountPolicy a;
  YAML::Node entity = fields["entity"];
  if (!entity) err(account, fmt::format("account {} needs entity: government | private | individual | foreign", name));
  else if (auto e = parse_entity(entity.as<std::string>(""))) a.entity = *e;
  else err(entity, fmt::format("unknown entity '{}' (government, private, individual, foreign)", entity.as<std::string>("")));

  YAML::Node senders = fields["senders"];
  if (!senders || !senders.IsMap()) {
    err(senders ? senders : account, fmt::format("account {} needs senders: {{ NAME: class, ... }}", name));
  } else {
    for (const auto& sv : senders) {
      std::string sender = std::string(trim(sv.first.as<std::string>("")));
      auto cls = parse_class(sv.second.as<std::string>(""));
      if (!cls) {
        err(sv.second, fmt::format("unknown class '{}' (promotional, service, awareness, warning)", sv.second.as<std::string>("")));
        continue;
      }
      if (sender.empty() || sender.size() > 20) err(sv.first, "a sender name has 1 to 20 characters (SMPP source_addr)");
      if (*cls == MessageClass::promotional && !ends_with_ad(sender))
        err(sv.first, fmt::format("promotional sender name must end in -AD: '{}'", sender));
      if (*cls != MessageClass::promotional && ends_with_ad(sender))
        err(sv.first, fmt::format("sender '{}' ends in -AD, which is only for promotional names", sender));
      if (*cls == MessageClass::promotional && normalize_msisdn(sender))
        err(sv.first, fmt::format("promotional sender '{}' is a mobile number", sender));
      a.senders.set(sender, *cls);
    }
  }
  if (YAML::Node names = fields["official_names"]) {
    if (!names.IsSequence()) err(names, "official_names must be a list (Arabic and/or English forms)");
    else
      for (const auto& n : names) a.official_names.add(0, n.as<std::string>(""));
  }
  if (YAML::Node p = fields["promotional_via_smpp"]) a.promotional_via_smpp = p.as<bool>(false);
  if (YAML::Node domains = fields["approved_domains"]) {
    if (!domains.IsSequence()) err(domains, "approved_domains must be a list of domains");
    else
      for (const auto& dn : domains) {
        std::string domain = dn.as<std::string>("");
        for (char& ch : domain) ch = char(std::tolower(static_cast<unsigned char>(ch)));
        if (domain.empty() || domain.find('.') == std::string::npos || domain.find('/') != std::string::npos)
          err(dn, fmt::format("'{}' is not a domain name", domain));
        else
          a.approved_domains.push_back(domain);
      }
  }
  if (YAML::Node r = fields["require_templates"]) a.require_templates = r.as<bool>(false);
  if (YAML::Node templates = fields["templates"]) {
    if (!templates.IsSequence()) err(templates, "templates must be a list");
    else
      for (const auto& t : templates) {
        auto pattern = template_pattern(t.as<std::string>(""));
        if (!pattern) {
          err(t, "template has an unclosed or empty {placeholder}");
          continue;
        }
        std::shared_ptr<const RE2>& re = s.templates[*pattern];
        if (!re) {
          re = std::make_shared<const RE2>(*pattern, RE2::Quiet);
          if (re->ok()) RE2::FullMatch("", *re);  // RE2 builds its DFA on first use: here, not in a decision
        }
        if (!re->ok()) {
          err(t, fmt::format("template does not compile: {}", re->error()));
          continue;
        }
        a.templates.push_back(re);
      }
  }
  if (a.require_templates && a.templates.empty()) err(account, fmt::format("account {} requires templates but lists none", name));
  if (YAML::Node t = fields["throughput"]) {
    int rate = t.as<int>(-1);
    if (rate < 1 || rate > 1000000) err(t, "throughput is messages per second, from 1 to 1000000");
    else a.throughput = rate;
  }
  if (YAML::Node b = fields["balance"]) {
    std::string mode = b.as<std::string>("");
    if (mode == "prepaid") a.prepaid = true;
    else if (mode != "unmetered") err(b, fmt::format("balance '{}' is not prepaid or unmetered", mode));
  }
  if (YAML::Node c = fields["confirmation_sender"]) {
    a.confirmation_sender = std::string(trim(c.as<std::string>("")));
    if (a.senders.find(a.confirmation_sender) != MessageClass::service)
      err(c, fmt::format("confirmation_sender '{}' must be one of the account's service senders", a.confirmation_sender));
  }
  a.name = name;
  s.data->accounts.add(std::move(a));
}

std::shared_ptr<const Table> Compiler::finish() {
  State& s = *state_;
  TableData& d = *s.data;
  for (int year = kFirstHijriYear; year <= kLastHijriYear; ++year) {
    RamadanYear y{year, 0, 0};
    if (auto it = s.ramadan_overrides.find(year); it != s.ramadan_overrides.end()) {
      y.first_day = it->second.first;
      y.last_day = it->second.second;
    } else if (!computed_ramadan(year, y.first_day, y.last_day)) {
      s.diagnostics.push_back({"(ICU)", 0, 0, "the Umm al-Qura calendar is not available in this ICU"});
      break;
    }
    d.ramadan.push_back(y);
  }
  d.ramadan_days.assign(d.ramadan);
  d.otp_code = std::make_unique<RE2>(s.otp_code, RE2::Quiet);
  if (!d.otp_code->ok()) d.otp_code.reset();
  else RE2::PartialMatch("", *d.otp_code);  // RE2 builds its DFA on first use: here, not in a decision
  for (const auto& w : s.otp_words) d.content_words.add(kOtpWords, w);
  for (const auto& w : s.otp_reasons) d.content_words.add(kOtpReasons, w);
  for (size_t c = 0; c < s.keywords.size(); ++c)
    for (const auto& w : s.keywords[c]) d.content_words.add(unsigned(c), w);
  auto fold_all = [](const std::vector<std::string>& raw, std::vector<std::string>& folded) {
    for (const auto& w : raw)
      if (std::string f = folded_entry(w); !f.empty()) folded.push_back(std::move(f));
  };
  fold_all(s.stop_words, d.stop_words);
  fold_all(s.start_words, d.start_words);
  d.version = fmt::format("{:016x}", s.fingerprint);
  if (!s.diagnostics.empty()) return nullptr;
  return std::shared_ptr<const Table>(new Table(std::move(s.data)));
}

}  // namespace policy
