// Shared by smsc-sim and smpp-load: batched socket output, PDU byte writer, clock, address parsing.
#pragma once

#include <uv.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "smpp/protocol.h"

namespace sim {

inline uint64_t now_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000u + uint64_t(ts.tv_nsec) / 1000u;
}

[[noreturn]] inline void die(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "%s%s%s\n", what, detail.empty() ? "" : ": ", detail.c_str());
  std::exit(1);
}

inline bool parse_u64(std::string_view s, uint64_t& out) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && end == s.data() + s.size();
}

// "127.0.0.1:2775" -> sockaddr; false on any malformed part.
inline bool parse_host_port(std::string_view s, sockaddr_in& out) {
  size_t colon = s.rfind(':');
  uint64_t port = 0;
  if (colon == std::string_view::npos || !parse_u64(s.substr(colon + 1), port) || port > 65535) return false;
  std::string host(s.substr(0, colon));
  return uv_ip4_addr(host.c_str(), int(port), &out) == 0;
}

// Appends PDU fields to a byte vector; the caller patches command_length once the body is done.
struct PduWriter {
  std::vector<uint8_t>& buf;
  size_t start;

  PduWriter(std::vector<uint8_t>& b, uint32_t command_id, uint32_t status, uint32_t sequence)
      : buf(b), start(b.size()) {
    buf.resize(start + smpp::kHeaderSize);
    smpp::write_header(buf.data() + start, smpp::Header{0, command_id, status, sequence});
  }
  void u8(uint8_t v) { buf.push_back(v); }
  void u16(uint16_t v) {
    size_t at = buf.size();
    buf.resize(at + 2);
    smpp::store_be16(buf.data() + at, v);
  }
  void bytes(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    buf.insert(buf.end(), b, b + n);
  }
  void cstr(std::string_view s) {
    bytes(s.data(), s.size());
    u8(0);
  }
  void tlv(uint16_t tag, const void* p, uint16_t n) {
    u16(tag);
    u16(n);
    bytes(p, n);
  }
  // Writes command_length; call last.
  void finish() { smpp::store_be32(buf.data() + start, uint32_t(buf.size() - start)); }
};

// Per-connection output: PDUs are appended to `pending` and sent with one syscall per flush.
// While a uv_write is in flight its bytes live in `inflight`; the two vectors swap roles, so
// after warm-up no flush allocates.
class Output {
 public:
  explicit Output(size_t reserve = 64 * 1024) {
    pending_.reserve(reserve);
    inflight_.reserve(reserve);
    req_.data = this;
  }
  std::vector<uint8_t>& buffer() { return pending_; }
  size_t queued() const { return pending_.size() + inflight_.size(); }
  bool writing() const { return writing_; }

  // Sends what is pending; returns a libuv error if the socket is broken (caller closes).
  int flush(uv_stream_t* stream) {
    if (writing_ || pending_.empty()) return 0;
    uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(pending_.data()), unsigned(pending_.size()));
    int n = uv_try_write(stream, &b, 1);
    if (n == int(pending_.size())) {
      pending_.clear();
      return 0;
    }
    if (n < 0 && n != UV_EAGAIN) return n;
    size_t sent = n > 0 ? size_t(n) : 0;
    // The kernel buffer is full: hand the rest to libuv and keep filling the other vector.
    inflight_.assign(pending_.begin() + sent, pending_.end());
    pending_.clear();
    writing_ = true;
    b = uv_buf_init(reinterpret_cast<char*>(inflight_.data()), unsigned(inflight_.size()));
    return uv_write(&req_, stream, &b, 1, &Output::on_written);
  }

  // Called when a queued write finished (status < 0: the connection is gone).
  void (*on_drained)(Output*, int status) = nullptr;
  void* owner = nullptr;

 private:
  static void on_written(uv_write_t* req, int status) {
    Output* self = static_cast<Output*>(req->data);
    self->writing_ = false;
    self->inflight_.clear();
    if (self->on_drained) self->on_drained(self, status);
  }

  std::vector<uint8_t> pending_;
  std::vector<uint8_t> inflight_;
  uv_write_t req_{};
  bool writing_ = false;
};

// Reads one C-string field of at most max_len bytes (terminator included) from [p, end).
// Returns false when the terminator is missing within the bounds.
inline bool read_cstr(const uint8_t*& p, const uint8_t* end, size_t max_len, std::string_view& out) {
  size_t limit = size_t(end - p) < max_len ? size_t(end - p) : max_len;
  const void* nul = std::memchr(p, 0, limit);
  if (!nul) return false;
  out = std::string_view(reinterpret_cast<const char*>(p), static_cast<const uint8_t*>(nul) - p);
  p = static_cast<const uint8_t*>(nul) + 1;
  return true;
}

inline bool read_u8(const uint8_t*& p, const uint8_t* end, uint8_t& out) {
  if (p >= end) return false;
  out = *p++;
  return true;
}

}  // namespace sim
