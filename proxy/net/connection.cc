// The shared mechanics of customer and operator connections.
#include "proxy/net/connection.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "proxy/log.h"

#include "proxy/config/config.h"
#include "proxy/stats/stats.h"

namespace proxy {

namespace {
constexpr uint64_t kTickMs = 250;
constexpr size_t kPreambleRoom = 1024;  // the framer's extra room for what follows a preamble in its read
}

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
    if (!self->closing_) self->on_tick(uv_now(self->loop_));
  }, kTickMs, kTickMs);
  last_received_ms_ = uv_now(loop);
}

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
  auto space = self->framer_.writable();
  *buf = uv_buf_init(reinterpret_cast<char*>(space.data), unsigned(space.size));
}

void Connection::on_read(uv_stream_t* s, ssize_t n, const uv_buf_t*) {
  auto* self = static_cast<Connection*>(s->data);
  if (n == UV_EOF) return self->close("peer closed the connection");
  if (n < 0) return self->close(fmt::format("read error: {}", uv_strerror(int(n))));
  if (self->preamble_) return self->read_preamble(size_t(n));
  self->framer_.commit(size_t(n));
  self->last_received_ms_ = uv_now(self->loop_);
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

// The bytes of the same read after the preamble: the start of the SMPP stream. They fit: the
// framer is empty and has kPreambleRoom bytes more than two PDUs.
void Connection::take_after_preamble(std::string_view bytes) {
  if (bytes.empty()) return;
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
    if (result == smpp::Framer::Result::need_more) break;
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
  return out_.size() + uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&tcp_));
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
  if (!write_pending_ && out_.empty()) return close(reason);
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

void Connection::handle_closed() {
  if (--open_handles_ == 0) on_closed();
}

}  // namespace proxy
