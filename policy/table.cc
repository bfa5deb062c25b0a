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
#include <fmt/format.h>
#include <unordered_map>
#include <unordered_set>

#include "policy/msisdn.h"
#include "policy/normalize.h"
#include "policy/saudi_time.h"

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


size_t code_points(std::string_view utf8) {
  size_t n = 0;
  for (unsigned char ch : utf8) n += (ch & 0xC0) != 0x80;  // count UTF-8 lead bytes
  return n;
}

// Letters spelled out one by one ("d i s c o u n t", "خ ص م") are joined back into a word;
// other words keep their spaces: "a b" stays apart only when the run is a single letter.
void join_spelled_out(std::string_view spaced, std::string& out) {
  out.clear();
  size_t i = 0;
  bool previous_single = false;
  while (i < spaced.size()) {
    size_t end = spaced.find(' ', i);
    if (end == std::string_view::npos) end = spaced.size();
    std::string_view token = spaced.substr(i, end - i);
    bool single = code_points(token) == 1;
    if (!out.empty() && !(single && previous_single)) out.push_back(' ');
    out.append(token);
    previous_single = single;
    i = end + 1;
  }
}

// Arabic attaches articles and conjunctions to the word that follows, and both scripts add
// plural endings: a keyword matches a whole word carrying these, and nothing else (so that
// عرض "offer" is not found inside معرض "exhibition").
constexpr std::string_view kProclitics[] = {"", "ال", "و", "ب", "ل", "ف", "ك", "وال", "بال", "لل", "فال", "كال", "وب", "ول"};
constexpr std::string_view kArabicSuffixes[] = {"", "ات", "ها", "هم", "نا"};
constexpr std::string_view kLatinSuffixes[] = {"", "s", "es"};

// A keyword matches a whole word, which may carry an Arabic proclitic and a plural ending:
// each word of the text is stripped of the ones it carries and looked up, so the cost grows
// with the text, not with the number of keywords.
template <typename Set>
bool word_in(std::string_view word, const Set& cores) {
  auto with_suffixes = [&](std::string_view rest, auto& suffixes) {
    for (std::string_view s : suffixes)
      if (rest.size() > s.size() && rest.ends_with(s) && cores.find(rest.substr(0, rest.size() - s.size())) != cores.end())
        return true;
    return false;
  };
  // Arabic letters are U+0600..U+06FF: UTF-8 lead bytes 0xD8..0xDB. Other words take no proclitic.
  unsigned char lead = word.empty() ? 0 : static_cast<unsigned char>(word[0]);
  if (lead < 0xD8 || lead > 0xDB) return with_suffixes(word, kLatinSuffixes);
  for (std::string_view p : kProclitics)
    if (word.starts_with(p) && with_suffixes(word.substr(p.size()), kArabicSuffixes)) return true;
  return false;
}

// Hash with transparent lookup, so that a string_view finds a std::string key without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// A word list matched on normalised text (policy/normalize.h), in two forms: word by word with
// spelled-out letters joined, and, for keywords of five letters or more, anywhere in the text
// with every space removed ("dis-count").
struct WordList {
  std::vector<std::string> entries;    // each word or phrase, normalised and joined
  StringSet single_words;              // the entries that are one word
  std::vector<std::string> phrases;    // the entries of several words
  std::vector<std::string> squeezed;   // entries of five letters or more, without spaces

  void add(std::string_view raw) {
    std::string normalized, joined, without_spaces;
    normalize_for_matching(raw, normalized);
    join_spelled_out(normalized, joined);
    squeeze_spaces(normalized, without_spaces);
    if (joined.empty()) return;
    if (joined.find(' ') == std::string::npos) single_words.insert(joined);
    else phrases.push_back(joined);
    if (code_points(without_spaces) >= 5) squeezed.push_back(without_spaces);
    entries.push_back(std::move(joined));
  }
  bool empty() const { return entries.empty(); }
  bool is_entry(std::string_view text) const {
    return std::find(entries.begin(), entries.end(), text) != entries.end();
  }

  // `joined`: the text's normalised form with spelled-out letters joined; `squeezed_text`: without spaces.
  bool found_in(std::string_view joined, std::string_view squeezed_text) const {
    if (entries.empty()) return false;
    if (!single_words.empty()) {
      for (size_t i = 0; i <= joined.size();) {
        size_t end = joined.find(' ', i);
        if (end == std::string_view::npos) end = joined.size();
        if (end > i && word_in(joined.substr(i, end - i), single_words)) return true;
        i = end + 1;
      }
    }
    for (const auto& phrase : phrases)
      if (contains_phrase(joined, phrase)) return true;
    for (const auto& word : squeezed)
      if (squeezed_text.find(word) != std::string_view::npos) return true;
    return false;
  }

 private:
  static bool contains_phrase(std::string_view joined, std::string_view phrase) {
    for (size_t at = joined.find(phrase); at != std::string_view::npos; at = joined.find(phrase, at + 1)) {
      bool starts = at == 0 || joined[at - 1] == ' ';
      bool ends = at + phrase.size() == joined.size() || joined[at + phrase.size()] == ' ';
      if (starts && ends) return true;
    }
    return false;
  }
};

struct AccountPolicy {
  Entity entity = Entity::private_entity;
  int throughput = 0;  // 0: no limit
  bool prepaid = false;
  std::string confirmation_sender;
  StringMap<MessageClass> senders;
  WordList official_names;
  bool promotional_via_smpp = false;
  std::vector<std::string> approved_domains;
  bool require_templates = false;
  std::vector<std::unique_ptr<RE2>> templates;
};

struct RamadanYear {
  int hijri_year;
  int64_t first_day, last_day;
};

struct Window {
  int from, to;  // minutes of the Saudi day; from > to wraps midnight
  bool contains(int minute) const { return from <= to ? (minute >= from && minute < to) : (minute >= from || minute < to); }
};

}  // namespace

struct TableData {
  StringMap<AccountPolicy> accounts;
  std::array<uint8_t, 4> permissions{};  // per entity: a bit per class
  Window quiet{22 * 60, 9 * 60};
  Window ramadan_hours{1 * 60, 12 * 60};
  std::vector<RamadanYear> ramadan;
  std::unique_ptr<RE2> otp_code;
  WordList otp_words, otp_reasons;
  std::array<WordList, 5> keywords;  // per class
  std::unique_ptr<RE2> link;
  std::array<Action, size_t(Rule::count)> actions{};
  std::array<uint32_t, size_t(Rule::count)> statuses{};
  std::string version;
  bool enforce = true;
  int awareness_cap = 1;
  std::array<bool, size_t(Rule::count)> pass_when_store_down{};
  WordList stop_words, start_words;
  std::string confirm_stop = "You will no longer receive promotional messages from {account}.";
  std::string confirm_start = "You are subscribed again to promotional messages from {account}.";
};

std::string_view rule_id(Rule r) { return r == Rule::none ? std::string_view() : kRules[size_t(r)].id; }

// ---- the decision ----

namespace {

// Reused between decisions on the loop thread: a decision allocates nothing once these have grown.
struct Scratch {
  std::string spaced, joined, squeezed, collapsed, host;
};
thread_local Scratch scratch;

bool ends_with_ad(std::string_view s) {
  return s.size() >= 3 && s[s.size() - 3] == '-' && (s[s.size() - 2] | 0x20) == 'a' && (s[s.size() - 1] | 0x20) == 'd';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

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
    auto it = t_.accounts.find(m_.account);
    account_ = it == t_.accounts.end() ? nullptr : &it->second;
    resolve_class();
    scratch.spaced.clear();
    if (m_.text_inspectable) normalize_for_matching(m_.text, scratch.spaced);
    join_spelled_out(scratch.spaced, scratch.joined);
    squeeze_spaces(scratch.spaced, scratch.squeezed);
    bool promo_or_awareness = known_ && (cls_ == MessageClass::promotional || cls_ == MessageClass::awareness);
    check(Rule::content_not_inspectable, promo_or_awareness && m_.whole_text, [&] { return m_.text_inspectable; });
    check(Rule::class_personal, true, [&] { return !(known_ && cls_ == MessageClass::personal); });
    check(Rule::sender_ad_suffix, !known_, [&] { return !ends_with_ad(trim(m_.source)); });
    check(Rule::sender_not_registered, true, [&] { return known_; });
    check(Rule::class_not_permitted, known_ && account_, [&] {
      return (t_.permissions[size_t(account_->entity)] & bit(cls_)) != 0;
    });
    bool promotional = known_ && cls_ == MessageClass::promotional;
    check(Rule::sender_mobile_promotional, promotional, [&] { return !normalize_msisdn(trim(m_.source)); });
    check(Rule::channel_s2s_promotional, promotional, [&] {
      return account_->promotional_via_smpp || c_.channel != Channel::smpp_bind;
    });
    SaudiTime when = saudi_time(c_.unix_seconds);
    bool ramadan = in_ramadan(when.day);
    check(Rule::time_quiet_hours, promo_or_awareness && !ramadan, [&] { return !t_.quiet.contains(when.minute); });
    check(Rule::time_ramadan_hours, promo_or_awareness && ramadan, [&] { return !t_.ramadan_hours.contains(when.minute); });
    bool readable = m_.text_inspectable && m_.whole_text && account_;
    check(Rule::awareness_official_name, readable && known_ && cls_ == MessageClass::awareness, [&] {
      return account_->official_names.found_in(scratch.joined, scratch.squeezed);
    });
    check(Rule::content_template_mismatch, readable && account_->require_templates, [&] { return matches_template(); });
    check(Rule::content_keyword_mismatch, readable && known_, [&] { return !foreign_vocabulary(); });
    check(Rule::content_link_domain, readable && account_->entity != Entity::government, [&] { return links_approved(); });
    check(Rule::otp_no_reason, readable && t_.otp_code, [&] {
      bool otp = RE2::PartialMatch(scratch.spaced, *t_.otp_code) && t_.otp_words.found_in(scratch.joined, scratch.squeezed);
      return !otp || t_.otp_reasons.found_in(scratch.joined, scratch.squeezed);
    });
    verdict_.message_class = known_ ? cls_ : MessageClass::service;
    return verdict_;
  }

 private:
  void resolve_class() {
    std::string_view source = trim(m_.source);
    if (account_) {
      if (auto it = account_->senders.find(source); it != account_->senders.end()) {
        known_ = true;
        cls_ = it->second;
        return;
      }
    }
    // A mobile number that is not a registered sender is a person writing to a person.
    if (normalize_msisdn(source)) {
      known_ = true;
      cls_ = MessageClass::personal;
    }
  }

  bool in_ramadan(int64_t day) const {
    for (const auto& y : t_.ramadan)
      if (day >= y.first_day && day <= y.last_day) return true;
    return false;
  }

  bool matches_template() const {
    collapse_whitespace(m_.text, scratch.collapsed);
    for (const auto& t : account_->templates)
      if (RE2::FullMatch(scratch.collapsed, *t)) return true;
    return false;
  }

  bool foreign_vocabulary() const {
    for (size_t c = 0; c < t_.keywords.size(); ++c) {
      if (MessageClass(c) == cls_ || t_.keywords[c].empty()) continue;
      if (t_.keywords[c].found_in(scratch.joined, scratch.squeezed)) return true;
    }
    return false;
  }

  bool links_approved() const {
    re2::StringPiece input(m_.text.data(), m_.text.size());
    re2::StringPiece scheme, host;
    while (RE2::FindAndConsume(&input, *t_.link, &scheme, &host)) {
      scratch.host.assign(host.data(), host.size());
      for (char& ch : scratch.host) ch = char(std::tolower(static_cast<unsigned char>(ch)));
      if (scheme.empty() && !common_top_level_domain(scratch.host)) continue;
      if (!host_approved(scratch.host, account_->approved_domains)) return false;
    }
    return true;
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
  auto it = data_->accounts.find(m.account);
  if (it == data_->accounts.end() || v.outcome == Outcome::reject) return needs;
  const AccountPolicy& a = it->second;
  auto on = [&](Rule r) { return data_->actions[size_t(r)] != Action::off; };
  needs.throughput = a.throughput > 0 && on(Rule::account_throughput);
  needs.rate = a.throughput;
  needs.opt_out = v.message_class == MessageClass::promotional && on(Rule::recipient_opted_out);
  needs.awareness = v.message_class == MessageClass::awareness && on(Rule::awareness_daily_cap);
  needs.awareness_cap = data_->awareness_cap;
  needs.charge = a.prepaid && on(Rule::account_balance);
  return needs;
}

bool Table::passes_when_store_down(Rule r) const { return data_->pass_when_store_down[size_t(r)]; }

OptOutWord Table::opt_out_word(std::string_view text) const {
  std::string normalized, joined;
  normalize_for_matching(text, normalized);
  join_spelled_out(normalized, joined);
  if (data_->stop_words.is_entry(joined)) return OptOutWord::stop;
  if (data_->start_words.is_entry(joined)) return OptOutWord::start;
  return OptOutWord::none;
}

bool Table::confirmation(std::string_view account, OptOutWord word, std::string& sender, std::string& text) const {
  auto it = data_->accounts.find(account);
  if (it == data_->accounts.end() || it->second.confirmation_sender.empty() || word == OptOutWord::none) return false;
  sender = it->second.confirmation_sender;
  text = word == OptOutWord::stop ? data_->confirm_stop : data_->confirm_start;
  for (size_t at = text.find("{account}"); at != std::string::npos; at = text.find("{account}", at + account.size()))
    text.replace(at, 9, account);
  return true;
}

bool Table::has_account(std::string_view account) const { return data_->accounts.find(account) != data_->accounts.end(); }
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

bool Compiler::is_account_key(std::string_view key) {
  for (std::string_view k : {"entity", "senders", "official_names", "promotional_via_smpp", "approved_domains",
                             "require_templates", "templates", "throughput", "balance", "confirmation_sender"})
    if (k == key) return true;
  return false;
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
  AccountPolicy a;
  YAML::Node entity = account["entity"];
  if (!entity) err(account, fmt::format("account {} needs entity: government | private | individual | foreign", name));
  else if (auto e = parse_entity(entity.as<std::string>(""))) a.entity = *e;
  else err(entity, fmt::format("unknown entity '{}' (government, private, individual, foreign)", entity.as<std::string>("")));

  YAML::Node senders = account["senders"];
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
      a.senders[sender] = *cls;
    }
  }
  if (YAML::Node names = account["official_names"]) {
    if (!names.IsSequence()) err(names, "official_names must be a list (Arabic and/or English forms)");
    else
      for (const auto& n : names) a.official_names.add(n.as<std::string>(""));
  }
  if (YAML::Node p = account["promotional_via_smpp"]) a.promotional_via_smpp = p.as<bool>(false);
  if (YAML::Node domains = account["approved_domains"]) {
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
  if (YAML::Node r = account["require_templates"]) a.require_templates = r.as<bool>(false);
  if (YAML::Node templates = account["templates"]) {
    if (!templates.IsSequence()) err(templates, "templates must be a list");
    else
      for (const auto& t : templates) {
        auto pattern = template_pattern(t.as<std::string>(""));
        if (!pattern) {
          err(t, "template has an unclosed or empty {placeholder}");
          continue;
        }
        auto re = std::make_unique<RE2>(*pattern, RE2::Quiet);
        if (!re->ok()) err(t, fmt::format("template does not compile: {}", re->error()));
        else a.templates.push_back(std::move(re));
      }
  }
  if (a.require_templates && a.templates.empty()) err(account, fmt::format("account {} requires templates but lists none", name));
  if (YAML::Node t = account["throughput"]) {
    int rate = t.as<int>(-1);
    if (rate < 1 || rate > 1000000) err(t, "throughput is messages per second, from 1 to 1000000");
    else a.throughput = rate;
  }
  if (YAML::Node b = account["balance"]) {
    std::string mode = b.as<std::string>("");
    if (mode == "prepaid") a.prepaid = true;
    else if (mode != "unmetered") err(b, fmt::format("balance '{}' is not prepaid or unmetered", mode));
  }
  if (YAML::Node c = account["confirmation_sender"]) {
    a.confirmation_sender = std::string(trim(c.as<std::string>("")));
    auto it = a.senders.find(a.confirmation_sender);
    if (it == a.senders.end() || it->second != MessageClass::service)
      err(c, fmt::format("confirmation_sender '{}' must be one of the account's service senders", a.confirmation_sender));
  }
  s.data->accounts.emplace(name, std::move(a));
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
  d.otp_code = std::make_unique<RE2>(s.otp_code, RE2::Quiet);
  if (!d.otp_code->ok()) d.otp_code.reset();
  for (const auto& w : s.otp_words) d.otp_words.add(w);
  for (const auto& w : s.otp_reasons) d.otp_reasons.add(w);
  for (size_t c = 0; c < s.keywords.size(); ++c)
    for (const auto& w : s.keywords[c]) d.keywords[c].add(w);
  for (const auto& w : s.stop_words) d.stop_words.add(w);
  for (const auto& w : s.start_words) d.start_words.add(w);
  // A link: a scheme or www. and any host, or a bare host whose top-level domain is a common one
  // (so that "Mr.Smith" is not a link). Group 1: the scheme or www., group 2: the host.
  d.link = std::make_unique<RE2>(R"((?i)(https?://|www\.)?((?:[a-z0-9-]+\.)+[a-z]{2,})\b)");
  d.version = fmt::format("{:016x}", s.fingerprint);
  if (!s.diagnostics.empty()) return nullptr;
  return std::shared_ptr<const Table>(new Table(std::move(s.data)));
}

}  // namespace policy
