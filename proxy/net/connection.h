// One SMPP TCP connection on the loop: framed reads, batched writes, backpressure, one close path.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "smpp/framer.h"

namespace proxy {

struct Counters;
struct Limits;
class TlsEngine;
class TlsServerContext;

// What bounds one connection against its peer (from limits in the configuration).
struct ConnectionLimits {
  uint32_t max_pdu = 8192;
  size_t output_max = 256 << 10;       // unwritten output above this: the peer is not read
  uint64_t drain_timeout_ms = 10000;   // above it this long (or closing after a flush this long): closed
};
ConnectionLimits connection_limits(const Limits& limits);

// Lifetime: the owner creates it, calls start() (or connect()), and destroys it only from
// on_closed(), which runs after libuv's last close callback, never inside a read callback.
class Connection {
 public:
  Connection(uv_loop_t* loop, const ConnectionLimits& limits, Counters& counters);
  virtual ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uv_tcp_t* tcp() { return &tcp_; }
  uv_loop_t* loop() const { return loop_; }
  void start_reading();
  // The connection came in on the TLS port: its bytes are ciphertext from now on. Called before
  // start_reading(); `context` is the certificate of the moment (a reload does not change it).
  void start_tls(std::shared_ptr<const TlsServerContext> context);
  const TlsEngine* tls() const;  // nullptr on a plain connection
  // Closes at once (idempotent); the reason is logged with the peer's identity.
  void close(std::string_view reason);
  // Closes once everything queued has been written (after unbind_resp, say).
  void close_after_flush(std::string_view reason);
  bool closing() const { return closing_ || close_after_flush_; }
  bool can_write() const { return !closing_; }  // true while closing after a flush
  const std::string& peer() const { return peer_; }
  uint64_t last_received_ms() const { return last_received_ms_; }
  bool stalled() const { return stalled_; }  // not read on purpose (backpressure)
  // Bytes queued for this peer and not yet taken by the kernel.
  size_t unwritten() const;
  virtual std::string describe() const { return peer_; }  // for logs: who is this

 protected:
  // Appends encoded PDUs; they are written together before the loop next waits.
  std::string& out();
  // Backpressure: when ready_for_pdu() turns false the socket is no longer read; call
  // resume_reading() when it may be true again.
  void resume_reading();
  void set_peer(std::string peer) { peer_ = std::move(peer); }

  // A preamble before the SMPP stream (the PROXY protocol header a balancer sends): while one is
  // expected, what is read (at most `max` bytes) goes to on_preamble() instead of the framer, which
  // gets the bytes after it. Call before start_reading().
  struct Preamble {
    enum Status { need_more, done, refused } status = need_more;
    size_t length = 0;  // done: how many bytes were the preamble
  };
  void expect_preamble(size_t max);
  // Everything received so far; refused closes the connection (close first to give a reason).
  virtual Preamble on_preamble(std::string_view /*bytes*/) { return {Preamble::done, 0}; }

  virtual void on_pdu(std::string_view pdu) = 0;
  virtual bool ready_for_pdu() const { return true; }
  virtual void on_stall() {}  // the socket is no longer read until resume_reading()
  virtual void on_tick(uint64_t /*now_ms*/) {}  // every 250 ms while open: timeouts, enquire_link
  virtual void on_closed() = 0;                 // the last callback: the owner may delete this

  uv_loop_t* loop_;
  Counters& counters_;

 private:
  void process();
  void flush();
  bool output_full() const { return unwritten() > limits_.output_max; }
  void pause_for_output();
  void watch_output(uint64_t now_ms);
  void handle_closed();
  void read_preamble(size_t n);
  void take_after_preamble(std::string_view bytes);
  static void on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t*);
  // TLS: what is read is ciphertext for the engine, whose plaintext feeds the framer; what out()
  // holds is sealed into ciphertext just before it is written, so the output bound counts ciphertext.
  struct Tls;
  void on_tls_read(const char* ciphertext, size_t n);
  bool pull_plaintext();  // true when the framer got more bytes
  void seal_output();
  void watch_tls_handshake(uint64_t now_ms);
  void tls_failed(bool during_handshake);

  uv_tcp_t tcp_{};
  // Writes queued during this loop turn (reads, timers, Redis replies) go out together just
  // before the loop next waits: one write per connection per turn.
  uv_prepare_t flush_{};
  uv_timer_t tick_{};
  uv_write_t write_req_{};
  ConnectionLimits limits_;
  smpp::Framer framer_;
  std::unique_ptr<Tls> tls_;
  std::string out_, writing_;
  std::string peer_;
  struct PreambleBuffer {
    std::unique_ptr<char[]> bytes;
    size_t max = 0, have = 0;
  };
  std::unique_ptr<PreambleBuffer> preamble_;  // while a preamble is expected
  std::string close_reason_;
  uint64_t last_received_ms_ = 0;
  uint64_t output_full_since_ms_ = 0;  // 0: the output is within its bound
  uint64_t close_requested_ms_ = 0;    // when close_after_flush() was asked
  int open_handles_ = 0;
  bool reading_ = false;
  bool stalled_ = false;  // stopped taking PDUs because ready_for_pdu() was false or the output is full
  bool output_paused_ = false;  // stalled because the peer does not read what we send
  bool processing_ = false;
  bool write_pending_ = false;
  bool flush_scheduled_ = false;
  bool closing_ = false;
  bool close_after_flush_ = false;
};

}  // namespace proxy
