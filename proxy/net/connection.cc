// The shared mechanics of customer and operator connections.
#include "proxy/net/connection.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "proxy/log.h"

#include "proxy/config/config.h"
#include "proxy/net/tls.h"
#include "proxy/stats/stats.h"

namespace proxy {

namespace {
constexpr uint64_t kTickMs = 250;
constexpr uint64_t kTlsHandshakeMs = 10000;  // a TLS client that has not finished its handshake by then is closed
constexpr size_t kPreambleRoom = 1024;  // the framer's extra room for what follows a preamble in its read
}

struct Connection::Tls {
  Tls(std::shared_ptr<const TlsServerContext> context, uint64_t now) : engine(std::move(context)), started_ms(now) {}
  TlsEngine engine;
  uint64_t started_ms;
  std::string early;  // plaintext queued before the handshake finished: sealed once it has
  char in[16 * 1024 + 256];  // one TLS record of ciphertext per read
};

ConnectionLimits connection_limits(const Limits& l) {
  return {l.max_pdu, size_t(l.output_buffer_max_bytes), uint64_t(l.output_drain_timeout_ms)};
}

Connection::Connection(uv_loop_t* loop, const ConnectionLimits& limits, Counters& counters)
    : loop_(loop), counters_(counters), limits_(limits), framer_(limits.max_pdu, 2 * size_t(limits.max_pdu) + kPreambleRoom) {
  uv_tcp_init(loop, &tcp_);
  uv_prepare_init(loop, &flush_);
  uv_timer_init(loop, &tick_);
  tcp_.data = flush_.data = tick_.data = write_req_.data = this;
  open_handles_ = 3;
  uv_tcp_nodelay(&tcp_, 1);
  uv_timer_start(&tick_, [](uv_timer_t* t) {
    auto* self = static_cast<Connection*>(t->data);
    if (!self->closing_) self->watch_output(uv_now(self->loop_));
    if (!self->closing_ && self->tls_) self->watch_tls_handshake(uv_now(self->loop_));
    if (!self->closing_) self->on_tick(uv_now(self->loop_));
  }, kTickMs, kTickMs);
  last_received_ms_ = uv_now(loop);
}

Connection::~Connection() = default;

void Connection::start_reading() {
  if (closing_ || reading_) return;
  reading_ = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), on_alloc, on_read) == 0;
}

void Connection::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(h->data);
  if (auto& p = self->preamble_) {  // read no further than the preamble's bound
    *buf = uv_buf_init(p->bytes.get() + p->have, unsigned(p->max - p->have));
    return;
  }
  if (self->tls_) {
    *buf = uv_buf_init(self->tls_->in, sizeof self->tls_->in);
    return;
  }
  auto space = self->framer_.writable();
  *buf = uv_buf_init(reinterpret_cast<char*>(space.data), unsigned(space.size));
}

void Connection::on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(s->data);
  if (n == UV_EOF) return self->close("peer closed the connection");
  if (n < 0) return self->close(fmt::format("read error: {}", uv_strerror(int(n))));
  if (self->preamble_) return self->read_preamble(size_t(n));
  self->last_received_ms_ = uv_now(self->loop_);
  if (self->tls_) return self->on_tls_read(buf->base, size_t(n));
  self->framer_.commit(size_t(n));
  self->process();
}

void Connection::expect_preamble(size_t max) {
  max = std::min(max, kPreambleRoom);
  preamble_ = std::make_unique<PreambleBuffer>(PreambleBuffer{std::make_unique<char[]>(max), max, 0});
}

void Connection::read_preamble(size_t n) {
  if (n == 0) return;
  preamble_->have += n;
  last_received_ms_ = uv_now(loop_);
  std::string_view bytes(preamble_->bytes.get(), preamble_->have);
  Preamble p = on_preamble(bytes);
  if (closing_) return;
  if (p.status == Preamble::refused || (p.status == Preamble::done && p.length > bytes.size()))
    return close("refused what came before the SMPP stream");
  if (p.status == Preamble::need_more) {
    if (preamble_->have == preamble_->max) close("what came before the SMPP stream is too long");
    return;
  }
  auto held = std::move(preamble_);  // from here on reads go to the framer
  take_after_preamble(bytes.substr(p.length));
}

// The bytes of the same read after the preamble: the start of the SMPP stream (or, on the TLS
// port, of the handshake). They fit: the framer is empty and has kPreambleRoom bytes more than
// two PDUs.
void Connection::take_after_preamble(std::string_view bytes) {
  if (bytes.empty()) return;
  if (tls_) return on_tls_read(bytes.data(), bytes.size());  // a TLS port: the handshake follows the header
  auto space = framer_.writable();
  std::memcpy(space.data, bytes.data(), bytes.size());
  framer_.commit(bytes.size());
  process();
}

void Connection::process() {
  if (processing_) return;  // resume_reading() from inside on_pdu(): the loop below goes on
  processing_ = true;
  while (!closing_) {
    if (output_full()) {
      pause_for_output();
      break;
    }
    if (!ready_for_pdu()) {
      stalled_ = true;
      on_stall();
      if (reading_) uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
      reading_ = false;
      break;
    }
    std::string_view pdu;
    uint32_t bad_length = 0;
    auto result = framer_.next(pdu, bad_length);
    if (result == smpp::Framer::Result::need_more) {
      if (tls_ && pull_plaintext()) continue;
      break;
    }
    if (result != smpp::Framer::Result::pdu) {
      ++counters_.sessions_closed_bad_length;
      close(fmt::format("command_length {} is {}", bad_length,
                        result == smpp::Framer::Result::too_short ? "below 16" : "above max_pdu"));
      break;
    }
    on_pdu(pdu);
  }
  processing_ = false;
}

size_t Connection::unwritten() const {
  return out_.size() + (tls_ ? tls_->early.size() + tls_->engine.pending_ciphertext() : 0) +
         uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&tcp_));
}

// A peer that sends requests and does not read our answers would make us buffer without end:
// while its unwritten output is over the bound we stop reading it (its requests wait in its
// socket), and watch_output() closes it if it does not drain in time.
void Connection::pause_for_output() {
  stalled_ = true;
  if (!output_paused_) {
    output_paused_ = true;
    ++counters_.read_pauses_output_full;
  }
  if (!output_full_since_ms_) output_full_since_ms_ = uv_now(loop_);
  if (reading_) uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  reading_ = false;
}

// After each write and on every tick: resume a peer that drained, close one that did not.
void Connection::watch_output(uint64_t now_ms) {
  if (close_after_flush_ && now_ms - close_requested_ms_ >= limits_.drain_timeout_ms) {
    ++counters_.sessions_closed_slow_reader;
    return close(fmt::format("{} (its output not drained in {} ms)", close_reason_, limits_.drain_timeout_ms));
  }
  if (output_full()) {
    if (!output_full_since_ms_) output_full_since_ms_ = now_ms;
    if (now_ms - output_full_since_ms_ < limits_.drain_timeout_ms) return;
    ++counters_.sessions_closed_slow_reader;
    return close(fmt::format("{} bytes unwritten for {} ms: the peer does not read", unwritten(), limits_.drain_timeout_ms));
  }
  output_full_since_ms_ = 0;
  if (!output_paused_) return;
  output_paused_ = false;
  if (!close_after_flush_) resume_reading();
}

void Connection::resume_reading() {
  if (!stalled_ || closing_) return;
  stalled_ = false;
  process();
  if (!stalled_ && !closing_ && !close_after_flush_) start_reading();
}

std::string& Connection::out() {
  if (!flush_scheduled_ && !closing_) {
    flush_scheduled_ = true;
    uv_prepare_start(&flush_, [](uv_prepare_t* p) {
      auto* self = static_cast<Connection*>(p->data);
      uv_prepare_stop(p);
      self->flush_scheduled_ = false;
      self->flush();
    });
  }
  return out_;
}

void Connection::flush() {
  if (write_pending_ || closing_) return;
  if (tls_) {
    seal_output();
    tls_->engine.take_ciphertext(out_);  // out_ holds ciphertext from here to the write below
  }
  if (out_.empty()) {
    if (close_after_flush_) close(close_reason_);
    return;
  }
  writing_.swap(out_);
  out_.clear();
  uv_buf_t buf = uv_buf_init(writing_.data(), unsigned(writing_.size()));
  write_pending_ = true;
  int rc = uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, [](uv_write_t* req, int status) {
    auto* self = static_cast<Connection*>(req->data);
    self->write_pending_ = false;
    self->writing_.clear();
    if (status < 0) return self->close(fmt::format("write error: {}", uv_strerror(status)));
    self->flush();
    if (!self->closing_) self->watch_output(uv_now(self->loop_));
  });
  if (rc != 0) {
    write_pending_ = false;
    close(fmt::format("write error: {}", uv_strerror(rc)));
  }
}

void Connection::close_after_flush(std::string_view reason) {
  if (closing_ || close_after_flush_) return;
  close_after_flush_ = true;
  close_reason_ = reason;
  close_requested_ms_ = uv_now(loop_);
  if (reading_) uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  reading_ = false;
  if (tls_) seal_output();  // the last records, then close_notify (or the alert of a failure)
  if (!write_pending_ && out_.empty() && !(tls_ && tls_->engine.pending_ciphertext())) return close(reason);
  out();  // make sure a flush is scheduled
}

void Connection::close(std::string_view reason) {
  if (closing_) return;
  closing_ = true;
  log::info("closing {}: {}", describe(), reason);
  auto closed = [](uv_handle_t* h) { static_cast<Connection*>(h->data)->handle_closed(); };
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&flush_), closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_), closed);
}

// ---- TLS (connections accepted on listen.smpps) ----

void Connection::start_tls(std::shared_ptr<const TlsServerContext> context) {
  tls_ = std::make_unique<Tls>(std::move(context), uv_now(loop_));
}

const TlsEngine* Connection::tls() const { return tls_ ? &tls_->engine : nullptr; }

void Connection::on_tls_read(const char* ciphertext, size_t n) {
  tls_->engine.put_ciphertext(ciphertext, n);
  process();
}

// Called while the framer wants more: decrypts into its free space. The engine may have answered
// (handshake messages, session tickets, an alert) even when no plaintext came: flushed this turn.
bool Connection::pull_plaintext() {
  TlsEngine& engine = tls_->engine;
  const bool was_done = engine.handshake_done();
  auto space = framer_.writable();
  size_t got = 0;
  TlsEngine::Read result = engine.read_plaintext(space.data, space.size, got);
  if (!was_done && engine.handshake_done())
    log::debug("{}: {} handshake done{}", describe(), engine.protocol(),
               engine.peer_fingerprint().empty() ? "" : ", client certificate " + engine.peer_fingerprint());
  if (engine.pending_ciphertext()) out();
  switch (result) {
    case TlsEngine::Read::data: framer_.commit(got); return true;
    case TlsEngine::Read::want_more: return false;
    case TlsEngine::Read::closed: close_after_flush("peer closed the TLS session"); return false;
    case TlsEngine::Read::failed: tls_failed(!was_done); return false;
  }
  return false;
}

// Just before a write: the plaintext out() gathered this turn is sealed into records, which wait
// in the engine (counted by unwritten()) until flush() takes them into the write.
void Connection::seal_output() {
  TlsEngine& engine = tls_->engine;
  if (!engine.handshake_done()) {
    tls_->early.append(out_);
    out_.clear();
  } else {
    for (std::string* plain : {&tls_->early, &out_}) {
      if (!plain->empty() && !engine.write_plaintext(*plain) && !engine.failed())
        log::debug("{}: {} bytes after close_notify dropped", describe(), plain->size());
      plain->clear();
    }
    if (close_after_flush_) engine.shutdown();
  }
}

void Connection::watch_tls_handshake(uint64_t now_ms) {
  if (tls_->engine.handshake_done() || close_after_flush_ || now_ms - tls_->started_ms < kTlsHandshakeMs) return;
  ++counters_.tls_handshakes_timed_out;
  close(fmt::format("no TLS handshake within {} ms", kTlsHandshakeMs));
}

// The peer gets the engine's alert, then the connection closes.
void Connection::tls_failed(bool during_handshake) {
  ++(during_handshake ? counters_.tls_handshakes_failed : counters_.tls_sessions_failed);
  close_after_flush(fmt::format("TLS {} failed: {}", during_handshake ? "handshake" : "session", tls_->engine.error()));
}

void Connection::handle_closed() {
  if (--open_handles_ == 0) on_closed();
}

}  // namespace proxy
