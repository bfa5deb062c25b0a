// The policy compiler: YAML in, with every error at its file:line:column, an immutable Table out.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <optional>

#include "policy/calendar.h"
#include "policy/msisdn.h"
#include "policy/saudi_time.h"
#include "policy/table.h"
#include "policy/table_data.h"

namespace policy {

std::string Diagnostic::to_string() const {
  if (line == 0) return fmt::format("{}: {}", file, message);
  return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

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
  // The words that may stand beside a bare code (docs/policy.md, R-OTP-REASON): they name the
  // code, none says what it is for.
  std::vector<std::string> otp_labels = {"your", "the", "is", "code", "otp", "pin", "password", "passcode",
                                         "verification", "security", "activation", "رمز", "الرمز", "رمزك",
                                         "كود", "الكود", "كودك", "التحقق", "التفعيل", "كلمة", "المرور", "السر",
                                         "سري", "السري", "هو", "الخاص", "بك"};
  std::vector<std::string> stop_words = {"stop", "unsubscribe", "إيقاف", "ايقاف", "الغاء", "إلغاء", "توقف"};
  std::vector<std::string> start_words = {"start", "subscribe", "اشتراك", "تفعيل"};
  std::array<std::vector<std::string>, 5> keywords;
  // Every registered sender, where it was written: checked against the permissions in finish(),
  // once every file's policy: section is known.
  struct Registration {
    std::string file, account, sender;
    int line, column;
    Entity entity;
    MessageClass cls;
  };
  std::vector<Registration> registrations;
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

// The opt_out key of a confirmation text, or nullptr: confirm_stop and confirm_start are the
// English (and older) ones.
std::string* confirmation_text(TableData& d, std::string_view key) {
  if (key == "confirm_stop") return &d.confirm_stop[size_t(Language::english)];
  if (key == "confirm_start") return &d.confirm_start[size_t(Language::english)];
  if (key == "confirm_stop_ar") return &d.confirm_stop[size_t(Language::arabic)];
  if (key == "confirm_start_ar") return &d.confirm_start[size_t(Language::arabic)];
  return nullptr;
}

// The class a sender may not have under the entity's permissions, as `hajib check` says it.
std::string not_permitted_message(const std::string& account, Entity entity, const std::string& sender, MessageClass cls) {
  if (entity == Entity::government && cls == MessageClass::promotional)
    return fmt::format("account {} is a government entity and may not have a promotional sender ('{}'): "
                       "policy.permissions.government does not list promotional",
                       account, sender);
  return fmt::format("sender '{}' of account {} is {}, which policy.permissions.{} does not allow", sender, account,
                     name(cls), name(entity));
}

}  // namespace

namespace {

std::optional<QuietHours> parse_quiet_hours(const YAML::Node& n) {
  std::string v = n.IsScalar() ? n.as<std::string>("") : "";
  if (v == "reject") return QuietHours::reject;
  if (v == "hold") return QuietHours::hold;
  return std::nullopt;
}

// The account keys the compiler reads: is_account_key() answers from this table, and
// add_account() finds them all in one pass over an account (yaml-cpp's operator[] walks the
// mapping and converts every key, for each key asked).
constexpr std::string_view kAccountKeys[] = {"entity", "senders", "official_names", "promotional_via_smpp",
                                             "approved_domains", "require_templates", "templates", "throughput",
                                             "balance", "confirmation_sender", "review", "bank", "quiet_hours"};

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

// review: promotional | off, and bank: true | false. Government accounts and banks are exempt from
// campaign review by default (seed 000 sec. 4.1); ops may still turn it on for one of them.
template <typename Err>
void read_review(const AccountFields& fields, AccountPolicy& a, Err& err) {
  bool bank = false;
  if (YAML::Node b = fields["bank"]) {
    if (!b.IsScalar() || !YAML::convert<bool>::decode(b, bank)) err(b, "bank must be true or false");
  }
  a.reviewed = !bank && a.entity != Entity::government;
  if (YAML::Node r = fields["review"]) {
    std::string mode = r.as<std::string>("");
    if (mode == "promotional") a.reviewed = true;
    else if (mode == "off") a.reviewed = false;
    else err(r, fmt::format("review '{}' is not promotional or off", mode));
  }
}

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
        } else if (auto* text = confirmation_text(d, k)) {
          *text = ov.second.as<std::string>("");
        } else {
          err(ov.first, fmt::format("unknown key '{}' in policy.opt_out (stop_words, start_words, confirm_stop, "
                                    "confirm_start, confirm_stop_ar, confirm_start_ar)", k));
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
        } else if (k == "words" || k == "reasons" || k == "labels") {
          auto& list = k == "words" ? s.otp_words : k == "reasons" ? s.otp_reasons : s.otp_labels;
          read_words(ov.second, list, "otp." + k);
        } else {
          err(ov.first, fmt::format("unknown key '{}' in policy.otp (code, words, reasons, labels)", k));
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
          else if (action == "hold" && may_hold(*rule)) d.actions[size_t(*rule)] = Action::hold;
          else if (action == "hold")
            err(a, fmt::format("action 'hold' is only for time.quiet_hours and time.ramadan_hours (a message can wait for "
                               "its window), not for {}", rv.first.as<std::string>("")));
          else err(a, fmt::format("action '{}' is not reject, flag, off or hold", action));
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

namespace {

// Confirmations name the account by its first official name in their language, else by the
// confirmation sender the user sees the SMS come from.
void name_for_confirmations(AccountPolicy& a, const YAML::Node& official_names) {
  for (auto& n : a.confirmation_names) n = a.confirmation_sender;
  bool named[2] = {false, false};
  if (official_names && official_names.IsSequence())
    for (const auto& n : official_names) {
      std::string official = std::string(trim(n.as<std::string>("")));
      const size_t language = size_t(language_of(official));
      if (official.empty() || named[language]) continue;
      a.confirmation_names[language] = official;
      named[language] = true;
    }
}

}  // namespace

void Compiler::add_account(const std::string& name, const YAML::Node& account, const std::string& file) {
  State& s = *state_;
  auto err = [&](const YAML::Node& at, const std::string& msg) { s.error(at, file, msg); };
  if (!account.IsMap()) return;  // the config loader reports that
  s.hash(name);
  const AccountFields fields(account);
  AccountPolicy a;
  YAML::Node entity = fields["entity"];
  bool entity_known = false;  // senders are checked against the permissions of a known entity only
  if (!entity) err(account, fmt::format("account {} needs entity: government | private | individual | foreign", name));
  else if (auto e = parse_entity(entity.as<std::string>(""))) a.entity = *e, entity_known = true;
  else err(entity, fmt::format("unknown entity '{}' (government, private, individual, foreign)", entity.as<std::string>("")));

  YAML::Node senders = fields["senders"];
  if (!senders || !senders.IsMap()) {
    err(senders ? senders : account, fmt::format("account {} needs senders: {{ NAME: class, ... }}", name));
  } else {
    for (const auto& sv : senders) {
      std::string sender = std::string(trim(sv.first.as<std::string>("")));
      // A class name, or { class: NAME, quiet_hours: reject | hold } (the sender's own setting).
      // (Not assigned to later: assigning a YAML::Node writes into the node it refers to.)
      const YAML::Node class_node = sv.second.IsMap() ? sv.second["class"] : sv.second;
      Sender entry;
      if (sv.second.IsMap()) {
        for (const auto& f : sv.second) {
          std::string k = f.first.as<std::string>("");
          if (k == "quiet_hours") {
            auto q = parse_quiet_hours(f.second);
            if (!q) err(f.second, fmt::format("quiet_hours '{}' is not reject or hold", f.second.as<std::string>("")));
            else entry.quiet = *q;
          } else if (k != "class") {
            err(f.first, fmt::format("unknown key '{}' in sender {} (class, quiet_hours)", k, sender));
          }
        }
        if (!class_node) {
          err(sv.second, fmt::format("sender {} needs class: promotional | service | awareness | warning", sender));
          continue;
        }
      }
      auto cls = parse_class(class_node.IsScalar() ? class_node.as<std::string>("") : "");
      if (!cls) {
        err(class_node, fmt::format("unknown class '{}' (promotional, service, awareness, warning)",
                                    class_node.IsScalar() ? class_node.as<std::string>("") : ""));
        continue;
      }
      entry.cls = *cls;
      if (sender.empty() || sender.size() > 20) err(sv.first, "a sender name has 1 to 20 characters (SMPP source_addr)");
      if (*cls == MessageClass::promotional && !ends_with_ad(sender))
        err(sv.first, fmt::format("promotional sender name must end in -AD: '{}'", sender));
      if (*cls != MessageClass::promotional && ends_with_ad(sender))
        err(sv.first, fmt::format("sender '{}' ends in -AD, which is only for promotional names", sender));
      if (*cls == MessageClass::promotional && normalize_msisdn(sender))
        err(sv.first, fmt::format("promotional sender '{}' is a mobile number", sender));
      a.senders.set(sender, entry);
      const YAML::Mark at = sv.first.Mark();
      if (entity_known) s.registrations.push_back({file, name, sender, at.line + 1, at.column + 1, a.entity, *cls});
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
  read_review(fields, a, err);
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
  if (YAML::Node q = fields["quiet_hours"]) {
    if (auto mode = parse_quiet_hours(q)) a.quiet = *mode;
    else err(q, fmt::format("quiet_hours '{}' is not reject or hold", q.IsScalar() ? q.as<std::string>("") : ""));
  }
  if (YAML::Node c = fields["confirmation_sender"]) {
    a.confirmation_sender = std::string(trim(c.as<std::string>("")));
    if (a.senders.find(a.confirmation_sender) != MessageClass::service)
      err(c, fmt::format("confirmation_sender '{}' must be one of the account's service senders", a.confirmation_sender));
  }
  name_for_confirmations(a, fields["official_names"]);
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
  for (const auto& label : s.otp_labels) {  // a phrase gives each of its words
    const std::string folded = folded_entry(label);
    for (size_t at = 0; at < folded.size();) {
      size_t space = std::min(folded.find(' ', at), folded.size());
      if (space > at) d.otp_labels.push_back(folded.substr(at, space - at));
      at = space + 1;
    }
  }
  std::sort(d.otp_labels.begin(), d.otp_labels.end());
  d.otp_labels.erase(std::unique(d.otp_labels.begin(), d.otp_labels.end()), d.otp_labels.end());
  // R-SENDER-CLASS at registration: a sender whose class the account's entity may not send could
  // never send a message (class.not_permitted refuses each), so it is an error where it is
  // written. policy.permissions is the place to allow it (e.g. promotional for government, which
  // the regulations allow and the provider's default does not).
  for (const auto& r : s.registrations)
    if (!(d.permissions[size_t(r.entity)] & bit(r.cls)))
      s.diagnostics.push_back({r.file, r.line, r.column, not_permitted_message(r.account, r.entity, r.sender, r.cls)});
  s.registrations.clear();
  d.version = fmt::format("{:016x}", s.fingerprint);
  if (!s.diagnostics.empty()) return nullptr;
  return std::shared_ptr<const Table>(new Table(std::move(s.data)));
}

}  // namespace policy
