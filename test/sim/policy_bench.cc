// policy-bench: compile time and decision rate of the policy table at production scale.
//
// Generates in memory a policy of 10,000 accounts with 50,000 sender names, times YAML::Load and
// policy::Compiler separately, then decides 2,000,000 messages on one thread over a mix of
// English and Arabic texts (links, OTP codes, promotional words; daytime, quiet hours, Ramadan)
// and reports decisions per second, the verdict mix and heap allocations per decision.
//
// usage: policy-bench [--accounts N] [--decisions N] [--max-seconds S] [--seed S]
//   --max-seconds stops the timed loop early (checked every 4,096 decisions) so that a slow
//   decision cannot stretch a benchmark run; the figures are then over the decisions made.
#include <sched.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "policy/saudi_time.h"
#include "policy/table.h"

// ---- allocation counting --------------------------------------------------------------------------
// Every operator new of this program (and of the libraries it links: yaml-cpp, RE2, fmt, libstdc++)
// goes through these; the C allocator underneath is counted too (ICU allocates with malloc).

namespace {
std::atomic<uint64_t> g_news{0};
std::atomic<uint64_t> g_mallocs{0};
}  // namespace

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void __libc_free(void*);

void* malloc(size_t n) {
  g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }
}

namespace {
void* counted_new(size_t n) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (n == 0) n = 1;
  if (void* p = std::malloc(n)) return p;
  throw std::bad_alloc();
}
void* counted_new_aligned(size_t n, std::align_val_t al) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  size_t a = std::max(size_t(al), sizeof(void*));
  n = (n + a - 1) / a * a;
  if (n == 0) n = a;
  if (void* p = std::aligned_alloc(a, n)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(size_t n) { return counted_new(n); }
void* operator new[](size_t n) { return counted_new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  g_news.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  g_news.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new(size_t n, std::align_val_t al) { return counted_new_aligned(n, al); }
void* operator new[](size_t n, std::align_val_t al) { return counted_new_aligned(n, al); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// ---- the generated policy ----------------------------------------------------------------------------

// A pronounceable brand per account, in Latin and Arabic letters, from its number's digits.
constexpr std::array<std::string_view, 10> kLatin = {"NO", "RA", "SA", "MA", "KE", "TI", "LU", "ZA", "FA", "DE"};
constexpr std::array<std::string_view, 10> kArabic = {"نو", "را", "سا", "ما", "كي", "تي", "لو", "زا", "فا", "دي"};

struct Brand {
  std::string upper;   // RASAMAKE: sender names
  std::string title;   // Rasamake
  std::string arabic;  // راساماكي
  std::string domain;  // rasamake
};

Brand brand(int n) {
  Brand b;
  int digits[4] = {n / 1000 % 10, n / 100 % 10, n / 10 % 10, n % 10};
  // Offset each syllable by the leading digits so that brands do not start alike.
  for (int i = 0; i < 4; ++i) {
    int d = (digits[i] + (i ? digits[i - 1] * 3 : 0)) % 10;
    b.upper += kLatin[size_t(d)];
    b.arabic += kArabic[size_t(d)];
  }
  if (n >= 10000) b.upper += std::to_string(n / 10000), b.arabic += std::to_string(n / 10000);
  b.title = b.upper;
  for (size_t i = 1; i < b.title.size(); ++i) b.title[i] = char(std::tolower(static_cast<unsigned char>(b.title[i])));
  b.domain = b.title;
  b.domain[0] = char(std::tolower(static_cast<unsigned char>(b.domain[0])));
  return b;
}

enum class Kind : uint8_t { private_entity, government, foreign };

Kind kind_of(int n) {
  if (n % 50 == 7) return Kind::foreign;
  if (n % 10 == 3) return Kind::government;
  return Kind::private_entity;
}
bool templated(int n) { return n % 32 == 5; }        // 313 of 10,000
bool campaign_platform(int n) { return n % 8 == 1; }  // promotional_via_smpp: true

// The five sender names of an account and their classes.
struct Sender {
  std::string name;
  std::string_view cls;
};
std::array<Sender, 5> senders_of(int n, const Brand& b) {
  if (kind_of(n) == Kind::government)
    return {{{b.upper, "service"}, {b.upper + "-NEWS", "awareness"}, {b.upper + "-INFO", "awareness"},
             {b.upper + "-OTP", "service"}, {b.upper + "-ALERT", "warning"}}};
  // A foreign entity may send service messages only: any other class is a compile error.
  if (kind_of(n) == Kind::foreign)
    return {{{b.upper, "service"}, {b.upper + "-NEWS", "service"}, {b.upper + "-INFO", "service"},
             {b.upper + "-OTP", "service"}, {b.upper + "-ALERT", "service"}}};
  return {{{b.upper, "service"}, {b.upper + "-AD", "promotional"}, {b.upper + "-INFO", "awareness"},
           {b.upper + "-OTP", "service"}, {b.upper + "-ALERT", "service"}}};
}

std::string account_name(int n) { return "acct" + std::to_string(100000 + n); }

std::string generate_yaml(int accounts) {
  std::string y;
  y.reserve(size_t(accounts) * 700 + 4096);
  y += R"(policy:
  mode: enforce
  permissions:
    government: [ service, awareness, warning ]
    private:    [ promotional, service, awareness ]
    individual: [ service ]
    foreign:    [ service ]
  quiet_hours:   { from: "22:00", to: "09:00" }
  ramadan_hours: { from: "01:00", to: "12:00" }
  ramadan:
    overrides:
      1447: { first: 2026-02-18, last: 2026-03-19 }
  otp:
    code: '\b\d{4,8}\b'
    words: [ otp, code, password, passcode, pin, رمز, كود, "كلمة المرور", "رقم سري" ]
    reasons: [ login, "log in", "sign in", payment, transfer, verify, verification, purchase, تسجيل, دخول, دفع, تحويل, عملية, شراء, تحقق, التحقق ]
  keywords:
    promotional: [ discount, offer, sale, deal, coupon, promo, "limited time", "buy one", clearance, cashback, خصم, عرض, عروض, تخفيض, تخفيضات, كوبون, "لفترة محدودة", مجانا, هدية, "اشتر واحصل" ]
  rules:
    otp.no_reason: { action: flag, status: 0x406 }
    content.link_domain: { action: reject, status: 0x408 }
accounts:
)";
  for (int n = 0; n < accounts; ++n) {
    Brand b = brand(n);
    Kind k = kind_of(n);
    y += "  " + account_name(n) + ":\n";
    y += std::string("    entity: ") + (k == Kind::government ? "government" : k == Kind::foreign ? "foreign" : "private") + "\n";
    y += "    senders: {";
    bool first = true;
    for (const auto& s : senders_of(n, b)) {
      y += first ? " " : ", ";
      first = false;
      y += s.name + ": " + std::string(s.cls);
    }
    y += " }\n";
    if (k == Kind::government)
      y += "    official_names: [ \"" + b.title + " Authority\", \"هيئة " + b.arabic + "\" ]\n";
    else
      y += "    official_names: [ \"" + b.title + "\", \"" + b.arabic + "\", \"شركة " + b.arabic + "\" ]\n";
    if (campaign_platform(n) && k == Kind::private_entity) y += "    promotional_via_smpp: true\n";
    y += "    approved_domains: [ " + b.domain + ".sa, " + b.domain + ".com ]\n";
    if (templated(n)) {
      y += "    require_templates: true\n";
      y += "    templates: [ \"Your code is {code} for {purpose}\", \"رمز التحقق {code} لعملية {purpose}\" ]\n";
    }
  }
  return y;
}

// ---- the message mix -------------------------------------------------------------------------------

struct Sample {
  std::string account, source, text;
  bool inspectable = true;
  int64_t unix_seconds = 0;
};

class MixGenerator {
 public:
  MixGenerator(int accounts, uint64_t seed) : accounts_(accounts), rng_(seed) {}

  Sample next() {
    Sample s;
    int n = int(uniform(uint32_t(accounts_)));
    Brand b = brand(n);
    auto senders = senders_of(n, b);
    s.account = account_name(n);
    bool arabic = chance(0.5);
    uint32_t pick = uniform(100);
    std::string_view cls;
    if (pick < 20) s.source = senders[0].name, cls = "service";
    else if (pick < 48) s.source = senders[3].name, cls = "otp";
    else if (pick < 58) s.source = senders[4].name, cls = "service";
    else if (pick < 70) s.source = senders[2].name, cls = "awareness";
    else if (pick < 90) s.source = senders[1].name, cls = senders[1].cls == "promotional" ? "promotional" : "awareness";
    else if (pick < 95) s.source = b.upper + "-SMS", cls = "service";  // not registered
    else if (pick < 97) s.source = b.upper + "X-AD", cls = "promotional";  // unregistered -AD
    else s.source = "05" + std::to_string(50000000 + uniform(49999999)), cls = "service";  // person to person
    if (templated(n) && cls == "otp" && chance(0.7)) {
      s.text = arabic ? "رمز التحقق " + code() + " لعملية " + pick_of(kReasonsAr)
                      : "Your code is " + code() + " for " + pick_of(kReasonsEn);
    } else {
      s.text = text(cls, arabic, b);
    }
    s.inspectable = !chance(0.01);
    // 2026-11-22 mostly, a tenth inside Ramadan 1448 (2027-02-20); 75% between 09:00 and 22:00.
    int64_t day = chance(0.9) ? policy::days_from_civil(2026, 11, 22) : policy::days_from_civil(2027, 2, 20);
    int minute = chance(0.75) ? 9 * 60 + int(uniform(13 * 60)) : (22 * 60 + int(uniform(11 * 60))) % (24 * 60);
    s.unix_seconds = day * 86400 + minute * 60 + int(uniform(60)) - policy::kSaudiOffsetSeconds;
    return s;
  }

 private:
  static constexpr std::array<std::string_view, 4> kReasonsEn = {"login", "payment", "transfer", "sign in"};
  static constexpr std::array<std::string_view, 4> kReasonsAr = {"تسجيل الدخول", "الدفع", "التحويل", "الشراء"};

  uint32_t uniform(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  template <size_t N>
  std::string pick_of(const std::array<std::string_view, N>& a) {
    return std::string(a[uniform(N)]);
  }
  std::string code() { return std::to_string(100000 + uniform(900000)); }
  std::string link(const Brand& b) {
    uint32_t r = uniform(10);
    std::string host = r < 7 ? b.domain + ".sa" : r < 9 ? "www." + b.domain + ".com" : "bit.ly";  // 10% unapproved
    return (r % 2 ? "https://" : "") + host + "/" + std::to_string(uniform(100000));
  }

  std::string text(std::string_view cls, bool ar, const Brand& b) {
    std::string t;
    if (cls == "otp") {
      bool reason = chance(0.9);
      if (ar) t = "رمز التحقق الخاص بك هو " + code() + (reason ? " لتسجيل الدخول" : "") + ". لا تشاركه مع أحد.";
      else t = "Your one-time code is " + code() + (reason ? " to sign in to " + b.title : "") + ". Do not share it.";
    } else if (cls == "promotional") {
      static constexpr std::array<std::string_view, 4> en = {"Weekend sale: 30% discount on all items", "Special offer for you",
                                                             "Buy one get one free this week", "New arrivals in store"};
      static constexpr std::array<std::string_view, 4> arr = {"تخفيضات نهاية الأسبوع: خصم 30% على كل المنتجات",
                                                              "عرض خاص لك", "عروض الشتاء بدأت", "وصلت تشكيلتنا الجديدة"};
      t = ar ? pick_of(arr) : pick_of(en);
      if (chance(0.6)) t += " " + link(b);
    } else if (cls == "awareness") {
      std::string name = chance(0.85) ? (ar ? b.arabic : b.title) : "";
      if (ar) t = (name.empty() ? "" : name + " تذكركم ") + "بضرورة تحديث بياناتكم قبل نهاية الشهر لضمان استمرار الخدمة";
      else t = (name.empty() ? "Reminder" : name + " reminds you") + ": please update your details before the end of the month";
    } else {  // service
      uint32_t r = uniform(20);
      if (ar) {
        t = r < 8 ? "تم شحن طلبك رقم " + std::to_string(uniform(1000000)) + " وسيصل خلال يومين"
            : r < 14 ? "تم خصم مبلغ " + std::to_string(uniform(5000)) + " ريال من حسابك المنتهي بـ " + std::to_string(1000 + uniform(9000))
            : r < 19 ? "موعدك يوم الأحد الساعة 10 صباحا، للإلغاء اتصل بنا"
                     : "لا تفوت العرض: خصم 50% اليوم فقط";  // promotional words from a service sender
      } else {
        t = r < 8 ? "Your order " + std::to_string(uniform(1000000)) + " has shipped and will arrive in 2 days"
            : r < 14 ? "SAR " + std::to_string(uniform(5000)) + " was paid from your card ending " + std::to_string(1000 + uniform(9000))
            : r < 19 ? "Your appointment is on Sunday at 10:00. Reply 1 to confirm"
                     : "Don't miss our offer: 50% discount today only";
      }
      if (chance(0.3)) t += " " + link(b);
    }
    // 40 to 160 characters: pad with courtesy phrases, cut at a code point.
    size_t want = 40 + uniform(121);
    static constexpr std::array<std::string_view, 3> pad_en = {" Thank you.", " Customer care: 920000000.", " Have a nice day."};
    static constexpr std::array<std::string_view, 3> pad_ar = {" شكرا لكم.", " خدمة العملاء 920000000.", " يومكم سعيد."};
    while (chars(t) < want) t += ar ? pick_of(pad_ar) : pick_of(pad_en);
    while (chars(t) > 160) {
      size_t cut = t.size() - 1;
      while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) --cut;
      t.resize(cut);
    }
    return t;
  }
  static size_t chars(std::string_view s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  }

  int accounts_;
  std::mt19937_64 rng_;
};

uint64_t fold_verdict(uint64_t digest, const policy::Verdict& v) {
  const uint64_t fields[] = {uint64_t(v.outcome), uint64_t(v.rule), v.status, uint64_t(v.message_class), v.flagged};
  for (uint64_t f : fields)
    for (int byte = 0; byte < 8; ++byte) digest = (digest ^ ((f >> (8 * byte)) & 0xFF)) * 1099511628211ull;
  return digest;
}

uint64_t arg(int argc, char** argv, const char* name, uint64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::strtoull(argv[i + 1], nullptr, 10);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int accounts = int(arg(argc, argv, "--accounts", 10000));
  const uint64_t planned = arg(argc, argv, "--decisions", 2000000);
  const double max_ms = double(arg(argc, argv, "--max-seconds", 0)) * 1000;
  const uint64_t seed = arg(argc, argv, "--seed", 20261122);
  constexpr uint64_t kWarmup = 10000;
  constexpr size_t kPool = 65536;  // distinct messages, cycled through

  // ---- compile ----
  double t0 = now_ms();
  std::string yaml = generate_yaml(accounts);
  double t1 = now_ms();
  YAML::Node root = YAML::Load(yaml);
  double t2 = now_ms();
  policy::Compiler compiler;
  compiler.add_rules(root["policy"], "bench.yaml");
  for (const auto& kv : root["accounts"]) compiler.add_account(kv.first.as<std::string>(), kv.second, "bench.yaml");
  double t3 = now_ms();
  auto table = compiler.finish();
  double t4 = now_ms();
  size_t sender_count = 0;  // counted outside the timing: a yaml-cpp lookup per account
  for (const auto& kv : root["accounts"]) sender_count += kv.second["senders"].size();
  if (!table) {
    for (size_t i = 0; i < compiler.diagnostics().size() && i < 20; ++i)
      std::fprintf(stderr, "%s\n", compiler.diagnostics()[i].to_string().c_str());
    std::fprintf(stderr, "policy-bench: the generated policy did not compile (%zu errors)\n", compiler.diagnostics().size());
    return 1;
  }
  const double parse_ms = t2 - t1, add_ms = t3 - t2, finish_ms = t4 - t3, compile_ms = t4 - t2;
  std::printf("policy: %d accounts, %zu sender names, %.1f MiB of YAML (generated in %.0f ms)\n", accounts, sender_count,
              double(yaml.size()) / (1 << 20), t1 - t0);
  std::printf("  YAML::Load            %8.1f ms\n", parse_ms);
  std::printf("  Compiler (add_*)      %8.1f ms\n", add_ms);
  std::printf("  Compiler::finish      %8.1f ms\n", finish_ms);
  std::printf("  compile (without parse)%7.1f ms   parse + compile %.1f ms   (target < 1000 ms)\n", add_ms + finish_ms,
              parse_ms + compile_ms);
  int64_t rf = 0, rl = 0;
  if (table->ramadan_days(1448, rf, rl))
    std::printf("  Ramadan 1448 (computed): days %lld..%lld\n", (long long)rf, (long long)rl);
  const size_t yaml_bytes = yaml.size();
  yaml.clear();
  yaml.shrink_to_fit();
  root = YAML::Node();

  // ---- the mix ----
  MixGenerator gen(accounts, seed);
  std::vector<Sample> pool;
  pool.reserve(kPool);
  size_t text_bytes = 0;
  for (size_t i = 0; i < kPool; ++i) {
    pool.push_back(gen.next());
    text_bytes += pool.back().text.size();
  }
  std::vector<policy::Message> messages(kPool);
  std::vector<policy::Context> contexts(kPool);
  for (size_t i = 0; i < kPool; ++i) {
    const Sample& s = pool[i];
    messages[i] = policy::Message{s.account, s.source, "966501234567", s.text, s.inspectable, 1};
    contexts[i] = policy::Context{s.unix_seconds, policy::Channel::smpp_bind};
  }

  // One core: pin to the CPU we are on, so the figure is one core's.
  cpu_set_t set;
  CPU_ZERO(&set);
  int cpu = sched_getcpu();
  if (cpu >= 0) {
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
  }

  for (uint64_t i = 0; i < kWarmup; ++i) (void)table->decide(messages[i % kPool], contexts[i % kPool]);

  std::array<uint64_t, 3> outcomes{};
  std::array<uint64_t, size_t(policy::Rule::count) + 1> rules{};
  std::array<uint64_t, 5> classes{};
  uint64_t digest = 1469598103934665603ull;  // FNV-1a over every verdict, in order: equal digests, equal decisions
  const uint64_t news0 = g_news.load(), mallocs0 = g_mallocs.load();
  double d0 = now_ms();
  uint64_t decisions = planned;
  uint64_t news_seen = 0;  // at the start of the second pass over the pool
  for (uint64_t i = 0; i < decisions; ++i) {
    if (i == kPool) news_seen = g_news.load();
    if (max_ms > 0 && (i & 4095) == 4095 && now_ms() - d0 > max_ms) decisions = i + 1;  // time cap
    size_t k = i & (kPool - 1);
    policy::Verdict v = table->decide(messages[k], contexts[k]);
    ++outcomes[size_t(v.outcome)];
    ++rules[size_t(v.rule)];
    ++classes[size_t(v.message_class)];
    digest = fold_verdict(digest, v);
  }
  double d1 = now_ms();
  const uint64_t news = g_news.load() - news0, mallocs = g_mallocs.load() - mallocs0;
  const double seconds = (d1 - d0) / 1000, rate = double(decisions) / seconds;
  const double news_per = double(news) / double(decisions), mallocs_per = double(mallocs) / double(decisions);
  // Once every distinct message has been seen (scratch buffers and RE2's DFA caches have grown).
  const bool second_pass = decisions > 2 * kPool;
  const double news_steady = second_pass ? double(g_news.load() - news_seen) / double(decisions - kPool) : -1;

  std::printf("decisions: %llu%s over %zu distinct messages (mean text %zu bytes), one thread on CPU %d\n",
              (unsigned long long)decisions, decisions < planned ? " (stopped by --max-seconds)" : "", kPool,
              text_bytes / kPool, cpu);
  std::printf("  %.0f decisions/s   (%.0f ns each; target >= 1,000,000/s)\n", rate, 1e9 / rate);
  std::printf("  heap: %.4f operator new and %.4f malloc per decision (%llu, %llu in the timed loop; goal 0)\n", news_per,
              mallocs_per, (unsigned long long)news, (unsigned long long)mallocs);
  if (second_pass)
    std::printf("        %.4f operator new per decision after the first pass over the %zu messages\n", news_steady, kPool);
  auto pct = [&](uint64_t n) { return 100.0 * double(n) / double(decisions); };
  std::printf("  verdicts: accept %.1f%%  flag %.1f%%  reject %.1f%%\n", pct(outcomes[0]), pct(outcomes[1]), pct(outcomes[2]));
  std::string rules_json;
  for (size_t r = 0; r < rules.size(); ++r) {
    if (!rules[r]) continue;
    std::string_view id = r == size_t(policy::Rule::none) ? std::string_view("(none)") : policy::rule_id(policy::Rule(r));
    std::printf("    %-28.*s %6.2f%%\n", int(id.size()), id.data(), pct(rules[r]));
    if (r == size_t(policy::Rule::none)) continue;
    if (!rules_json.empty()) rules_json += ',';
    rules_json.append("\"").append(id).append("\":").append(std::to_string(rules[r]));
  }
  std::printf("  verdict digest %016llx (every outcome, rule, status, class and flag, in order)\n", (unsigned long long)digest);
  std::printf("  classes:");
  for (size_t c = 0; c < classes.size(); ++c)
    if (classes[c]) std::printf(" %s %.1f%%", std::string(policy::kClassNames[c]).c_str(), pct(classes[c]));
  std::printf("\n");
  std::printf(
      "{\"accounts\":%d,\"senders\":%zu,\"yaml_bytes\":%zu,\"parse_ms\":%.1f,\"compile_ms\":%.1f,\"finish_ms\":%.1f,"
      "\"decisions\":%llu,\"decisions_per_s\":%.0f,\"ns_per_decision\":%.1f,\"new_per_decision\":%.4f,"
      "\"malloc_per_decision\":%.4f,\"new_per_decision_steady\":%.4f,\"accept\":%llu,\"flag\":%llu,\"reject\":%llu,\"verdict_digest\":\"%016llx\",\"rules\":{%s}}\n",
      accounts, sender_count, yaml_bytes, parse_ms, add_ms + finish_ms, finish_ms,
      (unsigned long long)decisions, rate, 1e9 / rate, news_per, mallocs_per, news_steady, (unsigned long long)outcomes[0],
      (unsigned long long)outcomes[1], (unsigned long long)outcomes[2], (unsigned long long)digest, rules_json.c_str());
  return 0;
}
