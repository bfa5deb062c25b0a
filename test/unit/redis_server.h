// Test helper: a redis-server of our own on a free loopback port, started on first use and
// stopped by its pid when the test binary exits.
#pragma once

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

namespace test_redis {

inline std::optional<std::string> find_in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  for (size_t at = 0; at <= dirs.size();) {
    size_t end = dirs.find(':', at);
    if (end == std::string::npos) end = dirs.size();
    auto candidate = std::filesystem::path(dirs.substr(at, end - at)) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    at = end + 1;
  }
  return std::nullopt;
}

inline uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Started on first use, stopped (by pid) when the test binary exits.
class RedisServer {
 public:
  static RedisServer& instance() {
    static RedisServer server;
    return server;
  }
  bool running() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  const std::string& why_not() const { return why_not_; }

  // A blocking connection, to empty the database and to read what the store wrote.
  redisContext* sync() { return sync_; }
  void flush() { freeReplyObject(redisCommand(sync_, "FLUSHALL")); }

  ~RedisServer() {
    if (sync_) redisFree(sync_);
    stop();
  }

 private:
  RedisServer() {
    auto binary = find_in_path("redis-server");
    if (!binary) {
      why_not_ = "redis-server is not installed";
      return;
    }
    for (int attempt = 0; attempt < 3 && !running(); ++attempt) start(*binary);
    if (!running()) why_not_ = "redis-server did not start";
  }

  void start(const std::string& binary) {
    port_ = free_loopback_port();
    std::string port = std::to_string(port_);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // gone with us, even if the tests crash
      ::freopen("/dev/null", "w", stdout);
      ::freopen("/dev/null", "w", stderr);
      ::execl(binary.c_str(), "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "", "--appendonly",
              "no", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (pid < 0) return;
    pid_ = pid;
    for (int i = 0; i < 250; ++i) {  // up to 5 s
      timeval timeout{0, 200000};
      redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, timeout);
      if (c && !c->err) {
        auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
        bool pong = reply && reply->type == REDIS_REPLY_STATUS;
        if (reply) freeReplyObject(reply);
        if (pong) {
          sync_ = c;
          return;
        }
      }
      if (c) redisFree(c);
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) break;  // it exited: the port was taken
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  redisContext* sync_ = nullptr;
  std::string why_not_;
};

}  // namespace test_redis
