// proxy/state: ready for Redis Cluster: every atomic step's keys (atomic_steps.def) fall in one hash slot.
#include <catch2/catch.hpp>

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "proxy/state/keys.h"
#include "proxy/state/lua_scripts.h"
#include "test/unit/redis_server.h"

namespace {

// CRC16-CCITT as XMODEM (polynomial 0x1021, initial 0, no reflection): Redis Cluster's crc16.c.
uint16_t crc16(std::string_view bytes) {
  uint16_t crc = 0;
  for (unsigned char c : bytes) {
    crc ^= uint16_t(c << 8);
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000) ? uint16_t((crc << 1) ^ 0x1021) : uint16_t(crc << 1);
  }
  return crc;
}

// Redis Cluster's keyHashSlot: the hash tag is what lies between the first '{' and the first '}'
// after it, when that is not empty; otherwise the whole key is hashed.
std::string_view hash_tag(std::string_view key) {
  size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

uint16_t key_slot(std::string_view key) { return crc16(hash_tag(key)) & 0x3FFF; }

bool has_hash_tag(std::string_view key) { return hash_tag(key).size() != key.size(); }

// Sample values for every parameter a keys.def row takes, hostile ones included: braces in
// names must not move one of an account's keys to another slot.
struct Samples {
  std::string_view account, sender, number_hash, message, upstream;
  int64_t day;
  uint32_t bucket_number;
  std::string_view campaign = "0123456789abcdef";
  int64_t hour = 493000;
};
constexpr Samples kSamples[] = {
    {"acme", "ACME-INFO", "0123456789abcdef0123456789abcdef", "4f2a:3", "stc", 20423, 7},
    {"a", "S", "ff", "1", "zain", 0, 0},
    {"a}b", "x{y}", "{}", "}{", "mo}bily", 99999, 255},
    {"{", "}", "{", "{x}", "{", -1, 1},
    {"", "", "", "", "", 1, 2},
    {"with space:and:colons", "ACME AD", "aa", "m m", "up stream", 20000, 100},
};

struct Step {
  const char* name;
  std::vector<std::string> keys;
};

// The samples as locals named as the rows' arguments name them (keys.def, atomic_steps.def).
#define HAJIB_SAMPLE_LOCALS(s)                                                                                         \
  std::string_view account = s.account, sender = s.sender, number_hash = s.number_hash, message = s.message,           \
                   upstream = s.upstream, campaign = s.campaign;                                                       \
  int64_t day = s.day, hour = s.hour;                                                                                  \
  uint32_t bucket_number = s.bucket_number;                                                                            \
  std::string_view id = s.message; /* held messages: our id */                                                         \
  (void)account, (void)sender, (void)number_hash, (void)message, (void)upstream, (void)day, (void)bucket_number,       \
      (void)campaign, (void)hour, (void)id

// Every row of atomic_steps.def, its keys built by keys.def's functions from one set of samples:
// the row's arguments name these locals.
std::vector<Step> steps_with(const Samples& s) {
  using namespace proxy::keys;
  HAJIB_SAMPLE_LOCALS(s);
#define HAJIB_STEP_KEYS(...) __VA_ARGS__
#define X(step, keys) Step{#step, {HAJIB_STEP_KEYS keys}},
  return {
#include "proxy/state/atomic_steps.def"
  };
#undef X
#undef HAJIB_STEP_KEYS
}

// Every row of keys.def, built from one set of samples.
std::vector<std::pair<std::string, std::string>> formats_with(const Samples& s) {
  HAJIB_SAMPLE_LOCALS(s);
#define HAJIB_KEY_ARGUMENTS(...) __VA_ARGS__
#define X(name, spelling, parameters, arguments) {#name, proxy::keys::name(HAJIB_KEY_ARGUMENTS arguments)},
  return {
#include "proxy/state/keys.def"
  };
#undef X
#undef HAJIB_KEY_ARGUMENTS
}

// A redis-server in cluster mode on a Unix socket of its own (no slots assigned: it still answers
// CLUSTER KEYSLOT), stopped by its pid.
class ClusterNode {
 public:
  ClusterNode() {
    auto binary = test_redis::find_in_path("redis-server");
    if (!binary) return;
    dir_ = std::filesystem::temp_directory_path() / ("hajib-cluster-slots-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::string socket = (dir_ / "redis.sock").string(), nodes = (dir_ / "nodes.conf").string();
    // Port 0 would put the cluster bus on 10000, which anything may hold: two free ports instead.
    std::string port = std::to_string(test_redis::free_loopback_port()),
                bus = std::to_string(test_redis::free_loopback_port());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      ::freopen("/dev/null", "w", stdout);
      ::freopen("/dev/null", "w", stderr);
      ::execl(binary->c_str(), "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--cluster-port", bus.c_str(), "--unixsocket", socket.c_str(), "--cluster-enabled", "yes",
              "--cluster-config-file", nodes.c_str(), "--dir", dir_.c_str(), "--save", "", "--appendonly", "no",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 250 && pid_ > 0 && !c_; ++i) {  // up to 5 s
      redisContext* c = redisConnectUnix(socket.c_str());
      if (c && !c->err) c_ = c;
      else {
        if (c) redisFree(c);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
  ~ClusterNode() {
    if (c_) redisFree(c_);
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  bool running() const { return c_ != nullptr; }
  long long keyslot(const std::string& key) {
    auto* reply = static_cast<redisReply*>(redisCommand(c_, "CLUSTER KEYSLOT %b", key.data(), key.size()));
    long long slot = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    if (reply) freeReplyObject(reply);
    return slot;
  }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  redisContext* c_ = nullptr;
};

}  // namespace

TEST_CASE("cluster slots: CRC16 is XMODEM, as Redis Cluster's", "[cluster]") {
  CHECK(crc16("123456789") == 0x31C3);  // the check value of CRC-16/XMODEM (Redis' crc16.c test)
  CHECK(crc16("") == 0);
}

TEST_CASE("cluster slots: key slots as the Redis documentation gives them", "[cluster]") {
  CHECK(key_slot("foo") == 12182);
  CHECK(key_slot("bar") == 5061);
  CHECK(key_slot("somekey") == 11058);        // CLUSTER KEYSLOT's page
  CHECK(key_slot("foo{hash_tag}") == 2515);  // CLUSTER KEYSLOT's page
  CHECK(key_slot("123456789") == 12739);
}

TEST_CASE("cluster slots: only the first { and the first } after it make a hash tag, and never an empty one", "[cluster]") {
  CHECK(key_slot("{user1000}.following") == key_slot("{user1000}.followers"));
  CHECK(hash_tag("foo{}{bar}") == "foo{}{bar}");  // empty tag: the whole key
  CHECK(hash_tag("foo{{bar}}zap") == "{bar");      // from the first {
  CHECK(hash_tag("foo{bar}{zap}") == "bar");       // to the first } after it
  CHECK(hash_tag("foo{bar") == "foo{bar");         // unclosed: the whole key
  CHECK(key_slot("foo{bar}{zap}") == key_slot("bar"));
}

TEST_CASE("cluster slots: our CRC16 and hash tags agree with a real Redis in cluster mode, for every key we write", "[cluster]") {
  ClusterNode node;
  if (!node.running()) {
    WARN("redis-server (cluster mode) did not start: checked against the documented vectors only");
    return;
  }
  for (const char* key : {"foo", "123456789", "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}", "{", "}{", "{}"})
    CHECK(node.keyslot(key) == key_slot(key));
  for (const Samples& s : kSamples)
    for (const auto& [name, key] : formats_with(s)) {
      INFO(name << ": " << key);
      CHECK(node.keyslot(key) == key_slot(key));
    }
}

TEST_CASE("cluster slots: every key format carries a hash tag", "[cluster]") {
  for (const Samples& s : kSamples)
    for (const auto& [name, key] : formats_with(s)) {
      INFO(name << ": " << key);
      CHECK(has_hash_tag(key));
    }
}

TEST_CASE("cluster slots: every key of one account is in that account's slot", "[cluster]") {
  const Samples& s = kSamples[0];
  std::set<uint16_t> slots;
  for (const auto& [name, key] : formats_with(s))
    if (name != "receipt_bucket") slots.insert(key_slot(key));  // the one format owned by an operator, not an account
  CHECK(slots == std::set<uint16_t>{key_slot("acct:acme")});
}

TEST_CASE("cluster slots: every atomic step finds all its keys in one slot", "[cluster]") {
  for (const Samples& s : kSamples)
    for (const Step& step : steps_with(s)) {
      std::set<uint16_t> slots;
      for (const std::string& key : step.keys) slots.insert(key_slot(key));
      INFO(step.name << " with account '" << s.account << "': " << step.keys.size() << " keys, first " << step.keys.front());
      CHECK(slots.size() == 1);
    }
}

TEST_CASE("cluster slots: every script in proxy/state/lua/ has its row in atomic_steps.def", "[cluster]") {
  std::set<std::string> rows;
  for (const Step& step : steps_with(kSamples[0])) rows.insert(step.name);
  for (const char* script : proxy::lua::names) {
    INFO("lua/" << script << ".lua");
    CHECK(rows.count(script) == 1);
  }
}

TEST_CASE("cluster slots: the keys held_parts builds from its prefixes are the keys.def ones", "[cluster]") {
  // The script appends a message to held(account, "") and held_owner(account, ""): it touches keys
  // it does not declare, which Cluster allows only while they share the declared key's slot.
  for (const Samples& s : kSamples) {
    CHECK(proxy::keys::held(s.account, "") + std::string(s.message) == proxy::keys::held(s.account, s.message));
    CHECK(proxy::keys::held_owner(s.account, "") + std::string(s.message) == proxy::keys::held_owner(s.account, s.message));
  }
}
