// smpp-load: a lean SMPP load generator (ESME) measuring submit_sm throughput and latency.
#include <signal.h>
#include <sys/resource.h>
#include <uv.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "smpp/framer.h"
#include "smpp/pdu_view.h"
#include "smpp/protocol.h"
#include "test/sim/sim_common.h"

namespace {

using smpp::Command;

constexpr size_t kMaxPdu = 70000;
constexpr size_t kReadBuffer = 256 * 1024;
constexpr size_t kIdleMaxPdu = 4096;  // idle sessions only see enquire_link and the odd receipt
constexpr size_t kIdleOutputReserve = 512;
constexpr int kMaxHandshakes = 64;  // concurrent connect+bind, so 1,000 sessions do not overflow a backlog
constexpr uint64_t kSetupTimeoutMs = 30000;
constexpr uint64_t kUnbindTimeoutMs = 1000;

struct Options {
  sockaddr_in addr{};
  std::string host = "127.0.0.1";
  uint64_t port = 0;
  std::string system_id, password;
  bool transceiver = false;
  uint32_t connections = 1;
  uint32_t window = 1;
  uint64_t count = 0;
  double duration_s = 0;
  double rate = 0;
  std::string dest = "966501234567", source = "ACME", text = "hello";
  uint8_t registered_delivery = 0;
  unsigned parts = 1;  // > 1: long messages of this many UCS-2 parts with a 16-bit-reference UDH
  uint64_t warmup = 0;
  uint32_t idle = 0;
  uint64_t grace_ms = 3000;
};

// Latency histogram: exact below 256 µs, then 128 sub-buckets per power of two (< 1% error).
class Histogram {
 public:
  void record(uint64_t us) {
    ++buckets_[std::min(index_of(us), kBuckets - 1)];
    ++total_;
  }
  uint64_t total() const { return total_; }
  double percentile(double q) const {
    if (total_ == 0) return 0;
    uint64_t rank = uint64_t(std::ceil(q * double(total_)));
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += buckets_[i];
      if (seen >= std::max<uint64_t>(rank, 1)) return midpoint_of(i);
    }
    return midpoint_of(kBuckets - 1);
  }

 private:
  static constexpr unsigned kSubBits = 7;
  static constexpr size_t kLinear = size_t(1) << (kSubBits + 1);
  static constexpr size_t kBuckets = kLinear + 40 * (size_t(1) << kSubBits);

  static size_t index_of(uint64_t v) {
    if (v < kLinear) return size_t(v);
    unsigned shift = unsigned(std::bit_width(v)) - 1 - kSubBits;
    return kLinear + (shift - 1) * (size_t(1) << kSubBits) + size_t((v >> shift) - (uint64_t(1) << kSubBits));
  }
  static double midpoint_of(size_t i) {
    if (i < kLinear) return double(i);
    size_t k = i - kLinear;
    unsigned shift = unsigned(k >> kSubBits) + 1;
    uint64_t mantissa = (uint64_t(1) << kSubBits) + (k & ((size_t(1) << kSubBits) - 1));
    return (double(mantissa << shift) + double(((mantissa + 1) << shift) - 1)) / 2;
  }

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t total_ = 0;
};

struct Slot {
  uint32_t sequence = 0;
  bool in_use = false;
  bool measured = false;
  uint64_t sent_us = 0;
};

struct Conn {
  Conn(bool idle_session, uint32_t window)
      : framer(idle_session ? kIdleMaxPdu : kMaxPdu, idle_session ? 2 * kIdleMaxPdu : kReadBuffer),
        out(idle_session ? kIdleOutputReserve : 64 * 1024),
        idle(idle_session) {
    if (idle) return;
    size_t size = std::bit_ceil<size_t>(std::max<uint32_t>(window, 1));
    slot_bits = unsigned(std::countr_zero(size));
    slots.resize(size);
    for (uint32_t i = window; i-- > 0;) free_slots.push_back(i);
  }

  uv_tcp_t tcp{};
  uv_connect_t connect_req{};
  smpp::Framer framer;
  sim::Output out;
  bool idle;
  bool bound = false;
  bool closing = false;
  bool dead = false;  // closed during the run
  bool dirty = false;
  bool unbinding = false;
  uint32_t control_sequence = 0;
  // Outstanding submits: the slot index is encoded in the low bits of the sequence number, so a
  // response finds its send time without a map, in any order.
  std::vector<Slot> slots;
  std::vector<uint32_t> free_slots;
  unsigned slot_bits = 0;
  uint32_t sequence_counter = 0;
  size_t index = 0;
  unsigned next_part = 0;   // long messages: the part to send next on this connection
  uint16_t reference = 0;   // long messages: the current message's reference
};

Options g_opt;
uv_loop_t* g_loop = nullptr;
std::vector<Conn*> g_conns;   // active first, then idle
std::vector<Conn*> g_dirty;
std::vector<uint8_t> g_submit_template;
// Long messages: one template per part, and where its 16-bit reference sits.
std::vector<std::vector<uint8_t>> g_part_templates;
size_t g_reference_at = 0;
uint16_t g_next_reference = 0;
Histogram g_histogram;

struct Run {
  size_t next_to_open = 0;
  int handshakes = 0;
  size_t bound = 0;
  bool started = false;
  bool stopped_sending = false;
  bool grace_expired = false;  // stopped sending long enough ago: stop waiting for answers
  bool finished = false;
  uint64_t start_us = 0;
  uint64_t deadline_us = 0;
  uint64_t last_response_us = 0;
  uint64_t warmup_sent = 0;
  uint64_t sent = 0;  // measured only
  uint64_t ok = 0;
  uint64_t ok_all = 0;  // warm-up included, for waiting on receipts
  uint64_t outstanding = 0;
  uint64_t receipts = 0;
  uint64_t unexpected = 0;
  size_t live_active = 0;
  size_t rr = 0;  // round-robin position for paced sends
  double tokens = 0;
  uint64_t last_tick_us = 0;
  std::map<uint32_t, uint64_t> errors;
} g_run;

uv_timer_t g_setup_timer, g_rate_timer, g_deadline_timer, g_grace_timer, g_exit_timer;

void mark_dirty(Conn* c) {
  if (!c->dirty) {
    c->dirty = true;
    g_dirty.push_back(c);
  }
}

std::vector<uint8_t>& out_of(Conn* c) {
  mark_dirty(c);
  return c->out.buffer();
}

void maybe_finish();
void open_more_connections();
void maybe_exit_after_unbind();

// ---- PDUs we write ------------------------------------------------------------------------

bool is_numeric(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

// A submit_sm as hajib's own writer lays it out (smpp/pdu_writer.cc, generated from
// smpp/pdu.def): the load generator's bytes follow the same field table as the proxy's reader.
std::vector<uint8_t> encoded_submit(const smpp::ShortMessageView& sm) {
  std::string out;
  smpp::encode_short_message(out, Command::submit_sm, 0, sm);
  return std::vector<uint8_t>(out.begin(), out.end());
}

// Built once; each send copies it and patches the sequence number.
std::vector<uint8_t> build_submit_template() {
  smpp::ShortMessageView sm;
  const bool numeric_source = is_numeric(g_opt.source);
  sm.source_addr_ton = numeric_source ? 1 : 5;  // international or alphanumeric
  sm.source_addr_npi = numeric_source ? 1 : 0;
  sm.source_addr = g_opt.source;
  sm.dest_addr_ton = 1;  // international
  sm.dest_addr_npi = 1;  // E.164
  sm.destination_addr = g_opt.dest;
  sm.registered_delivery = g_opt.registered_delivery;
  sm.short_message = g_opt.text;
  return encoded_submit(sm);
}

// Part k of n: UDH 06 08 04 REF REF n k, then 66 UCS-2 characters of Arabic service text (139
// bytes in all, so that it fits one SMS).
std::vector<std::vector<uint8_t>> build_part_templates(unsigned parts) {
  static const char16_t kText[] = u"تم شحن طلبك رقم ٤٨٢١٣ وسيصل خلال يومين، يمكنك تتبعه من التطبيق. ";
  std::vector<std::vector<uint8_t>> out;
  for (unsigned k = 1; k <= parts; ++k) {
    std::string ud = {0x06, 0x08, 0x04, 0x00, 0x00, char(parts), char(k)};
    for (size_t i = 0; i < 66; ++i) {
      char16_t ch = kText[i % (sizeof kText / sizeof kText[0] - 1)];
      ud.push_back(char(ch >> 8));
      ud.push_back(char(ch & 0xFF));
    }
    smpp::ShortMessageView sm;
    sm.source_addr_ton = 5;
    sm.source_addr = g_opt.source;
    sm.dest_addr_ton = 1;
    sm.dest_addr_npi = 1;
    sm.destination_addr = g_opt.dest;
    sm.esm_class = 0x40;  // UDH indicator
    sm.registered_delivery = g_opt.registered_delivery;
    sm.data_coding = 8;  // UCS-2
    sm.short_message = ud;
    std::vector<uint8_t> buf = encoded_submit(sm);
    // The reference sits 3 octets into the user data, which ends the PDU (no TLVs).
    g_reference_at = buf.size() - ud.size() + 3;
    out.push_back(std::move(buf));
  }
  return out;
}

void write_bind(Conn* c) {
  Command id = g_opt.transceiver ? Command::bind_transceiver : Command::bind_transmitter;
  sim::PduWriter w(out_of(c), uint32_t(id), 0, smpp::next_sequence(c->control_sequence));
  w.cstr(g_opt.system_id);
  w.cstr(g_opt.password);
  w.cstr("");  // system_type
  w.u8(smpp::kInterfaceVersion);
  w.u8(0);     // addr_ton
  w.u8(0);     // addr_npi
  w.cstr("");  // address_range
  w.finish();
}

void write_header_only(Conn* c, uint32_t command_id, uint32_t status, uint32_t sequence) {
  sim::PduWriter w(out_of(c), command_id, status, sequence);
  w.finish();
}

bool window_open(const Conn* c) { return !c->dead && !c->closing && !c->free_slots.empty(); }

void on_grace_expired(uv_timer_t*) {
  g_run.grace_expired = true;
  maybe_finish();
}

void stop_sending() {
  if (g_run.stopped_sending) return;
  g_run.stopped_sending = true;
  uv_timer_start(&g_grace_timer, on_grace_expired, g_opt.grace_ms, 0);
}

bool may_send(uint64_t now) {
  if (g_run.stopped_sending) return false;
  bool count_done = g_opt.count && g_run.sent >= g_opt.count;
  bool time_done = g_run.deadline_us && now >= g_run.deadline_us;
  if (count_done || time_done) stop_sending();
  return !g_run.stopped_sending;
}

void send_submit(Conn* c, uint64_t now) {
  bool measured = g_run.warmup_sent >= g_opt.warmup;
  if (measured) {
    if (g_run.sent++ == 0) g_run.start_us = now;
  } else {
    ++g_run.warmup_sent;
  }
  uint32_t slot = c->free_slots.back();
  c->free_slots.pop_back();
  uint32_t counter_mask = 0x3FFFFFFFu >> c->slot_bits;
  uint32_t sequence = (((++c->sequence_counter & counter_mask) << c->slot_bits) | slot) + 1;
  std::vector<uint8_t>& buf = out_of(c);
  size_t at = buf.size();
  if (g_opt.parts > 1) {  // the parts of one message go out back to back on one connection
    if (c->next_part == 0) c->reference = ++g_next_reference;
    const auto& part = g_part_templates[c->next_part];
    buf.insert(buf.end(), part.begin(), part.end());
    smpp::store_be16(buf.data() + at + g_reference_at, c->reference);
    c->next_part = (c->next_part + 1) % g_opt.parts;
  } else {
    buf.insert(buf.end(), g_submit_template.begin(), g_submit_template.end());
  }
  smpp::patch_sequence(buf.data() + at, sequence);
  c->slots[slot] = Slot{sequence, true, measured, now};
  ++g_run.outstanding;
  // Stop at the bound right away: waiting for a later send attempt could wait forever.
  if (g_opt.count && g_run.sent >= g_opt.count) stop_sending();
}

// Unpaced mode: keep every window full.
void fill_window(Conn* c, uint64_t now) {
  while (window_open(c) && may_send(now)) send_submit(c, now);
}

// ---- PDUs we read -------------------------------------------------------------------------

void on_submit_resp(Conn* c, const smpp::Header& h, uint64_t now) {
  if (c->slots.empty()) {  // idle sessions never submit
    ++g_run.unexpected;
    return;
  }
  uint32_t slot = (h.sequence - 1) & uint32_t(c->slots.size() - 1);
  Slot& s = c->slots[slot];
  if (h.sequence == 0 || !s.in_use || s.sequence != h.sequence) {
    ++g_run.unexpected;
    return;
  }
  s.in_use = false;
  c->free_slots.push_back(slot);
  --g_run.outstanding;
  if (h.status == smpp::status::ESME_ROK) ++g_run.ok_all;
  if (!s.measured) return;
  g_histogram.record(now - s.sent_us);
  g_run.last_response_us = now;
  if (h.status == smpp::status::ESME_ROK)
    ++g_run.ok;
  else
    ++g_run.errors[h.status];
}

bool is_receipt(const uint8_t* p, const uint8_t* end) {
  std::string_view skip;
  uint8_t b = 0;
  if (!sim::read_cstr(p, end, 6, skip) || !sim::read_u8(p, end, b) || !sim::read_u8(p, end, b)) return false;
  if (!sim::read_cstr(p, end, 21, skip) || !sim::read_u8(p, end, b) || !sim::read_u8(p, end, b)) return false;
  if (!sim::read_cstr(p, end, 21, skip) || !sim::read_u8(p, end, b)) return false;
  return (b & 0x3C) == 0x04;  // esm_class message type: SMSC delivery receipt
}

[[noreturn]] void fail_bind(const Conn* c, uint32_t status) {
  std::string_view name = smpp::status_name(status);
  std::fprintf(stderr, "smpp-load: bind refused on connection %zu: status 0x%02X %.*s\n", c->index, status,
               int(name.size()), name.data());
  std::exit(1);
}

void start_run();

void on_bind_resp(Conn* c, const smpp::Header& h) {
  if (h.status != smpp::status::ESME_ROK) fail_bind(c, h.status);
  if (c->bound) return;
  c->bound = true;
  --g_run.handshakes;
  ++g_run.bound;
  if (g_run.bound == g_conns.size()) return start_run();
  open_more_connections();
}

void close_conn(Conn* c);

void dispatch(Conn* c, std::string_view pdu, uint64_t now) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(pdu.data());
  smpp::Header h = smpp::read_header(p);
  switch (Command(h.command_id)) {
    case Command::submit_sm_resp:
      return on_submit_resp(c, h, now);
    case Command::generic_nack:  // a nack for one of our submits answers it
      return on_submit_resp(c, h, now);
    case Command::bind_transmitter_resp:
    case Command::bind_transceiver_resp:
      return on_bind_resp(c, h);
    case Command::deliver_sm:
      if (is_receipt(p + smpp::kHeaderSize, p + pdu.size())) ++g_run.receipts;
      {
        sim::PduWriter w(out_of(c), uint32_t(Command::deliver_sm_resp), 0, h.sequence);
        w.u8(0);  // message_id: unused, empty
        w.finish();
      }
      return;
    case Command::enquire_link:
      return write_header_only(c, uint32_t(Command::enquire_link_resp), 0, h.sequence);
    case Command::unbind:
      write_header_only(c, uint32_t(Command::unbind_resp), 0, h.sequence);
      c->unbinding = true;  // closes once the answer is out
      return;
    case Command::unbind_resp:
      return close_conn(c);
    default:
      if (!smpp::is_response(h.command_id))
        write_header_only(c, uint32_t(Command::generic_nack), smpp::status::ESME_RINVCMDID, h.sequence);
      return;
  }
}

// ---- connection lifetime -------------------------------------------------------------------

void on_closed(uv_handle_t*) { maybe_exit_after_unbind(); }

void close_conn(Conn* c) {
  if (c->closing) return;
  c->closing = true;
  if (!c->bound && !g_run.finished) {
    std::fprintf(stderr, "smpp-load: connection %zu closed before bind completed\n", c->index);
    std::exit(1);
  }
  if (!c->idle && !g_run.finished) {
    std::fprintf(stderr, "smpp-load: connection %zu closed by peer during the run\n", c->index);
    c->dead = true;
    --g_run.live_active;
    for (Slot& s : c->slots)
      if (s.in_use) s.in_use = false, --g_run.outstanding;  // never to be answered: count as unanswered
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_closed);
  maybe_finish();
}

void on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  Conn* c = static_cast<Conn*>(h->data);
  auto space = c->framer.writable();
  *buf = uv_buf_init(reinterpret_cast<char*>(space.data), unsigned(space.size));
}

void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  Conn* c = static_cast<Conn*>(s->data);
  if (nread < 0) return close_conn(c);
  if (nread == 0 || c->closing) return;
  c->framer.commit(size_t(nread));
  uint64_t now = sim::now_us();
  std::string_view pdu;
  uint32_t bad_length = 0;
  smpp::Framer::Result r;
  while ((r = c->framer.next(pdu, bad_length)) == smpp::Framer::Result::pdu && !c->closing) dispatch(c, pdu, now);
  if (r == smpp::Framer::Result::too_short || r == smpp::Framer::Result::too_long) {
    std::fprintf(stderr, "smpp-load: connection %zu sent a PDU with command_length %u\n", c->index, bad_length);
    return close_conn(c);
  }
  if (c->closing) return;
  if (g_run.started && !c->idle && g_opt.rate == 0) fill_window(c, now);
  maybe_finish();
}

void on_output_drained(sim::Output* out, int status) {
  Conn* c = static_cast<Conn*>(out->owner);
  if (status < 0) return close_conn(c);
  mark_dirty(c);
}

// One write per connection for everything queued since the last flush. Runs from a check
// handle (after I/O callbacks) and a prepare handle (after timers, before the loop may block).
void flush_dirty() {
  for (size_t i = 0; i < g_dirty.size(); ++i) {  // closing may finish the run and queue unbinds
    Conn* c = g_dirty[i];
    c->dirty = false;
    if (c->closing) continue;
    if (c->out.flush(reinterpret_cast<uv_stream_t*>(&c->tcp)) < 0) {
      close_conn(c);
      continue;
    }
    if (c->unbinding && !c->out.writing()) close_conn(c);
  }
  g_dirty.clear();
}

void on_check(uv_check_t*) { flush_dirty(); }
void on_prepare(uv_prepare_t*) { flush_dirty(); }

void on_connected(uv_connect_t* req, int status) {
  Conn* c = static_cast<Conn*>(req->data);
  if (status < 0) sim::die("smpp-load: cannot connect", uv_strerror(status));
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_read);
  write_bind(c);
}

void open_connection(Conn* c) {
  uv_tcp_init(g_loop, &c->tcp);
  c->tcp.data = c;
  c->connect_req.data = c;
  c->out.owner = c;
  c->out.on_drained = on_output_drained;
  int rc = uv_tcp_connect(&c->connect_req, &c->tcp, reinterpret_cast<const sockaddr*>(&g_opt.addr), on_connected);
  if (rc != 0) sim::die("smpp-load: cannot connect", uv_strerror(rc));
}

void open_more_connections() {
  while (g_run.handshakes < kMaxHandshakes && g_run.next_to_open < g_conns.size()) {
    ++g_run.handshakes;
    open_connection(g_conns[g_run.next_to_open++]);
  }
}

// ---- run control --------------------------------------------------------------------------

// Paced mode: a token bucket refilled every millisecond, spent round-robin over open windows.
void on_rate_tick(uv_timer_t*) {
  uint64_t now = sim::now_us();
  g_run.tokens += g_opt.rate * double(now - g_run.last_tick_us) / 1e6;
  g_run.tokens = std::min(g_run.tokens, g_opt.rate / 100 + 1);  // at most 10 ms of burst after a stall
  g_run.last_tick_us = now;
  size_t n = g_opt.connections, blocked = 0;
  while (g_run.tokens >= 1 && blocked < n && may_send(now)) {
    Conn* c = g_conns[g_run.rr++ % n];
    if (!window_open(c)) {
      ++blocked;
      continue;
    }
    blocked = 0;
    send_submit(c, now);
    g_run.tokens -= 1;
  }
  maybe_finish();
}

void on_deadline(uv_timer_t*) {
  stop_sending();
  maybe_finish();
}

void start_run() {
  uv_timer_stop(&g_setup_timer);
  g_run.started = true;
  g_run.live_active = g_opt.connections;
  uint64_t now = sim::now_us();
  if (g_opt.duration_s > 0) {
    g_run.deadline_us = now + uint64_t(g_opt.duration_s * 1e6);
    uv_timer_start(&g_deadline_timer, on_deadline, uint64_t(g_opt.duration_s * 1000) + 1, 0);
  }
  if (g_opt.rate > 0) {
    g_run.last_tick_us = now;
    g_run.tokens = 1;
    uv_timer_start(&g_rate_timer, on_rate_tick, 1, 1);
    return;
  }
  for (uint32_t i = 0; i < g_opt.connections; ++i) fill_window(g_conns[i], now);
}

bool waiting_for_receipts() {
  return g_opt.transceiver && g_opt.registered_delivery && g_run.receipts < g_run.ok_all;
}

void print_results() {
  double elapsed = g_run.sent && g_run.last_response_us > g_run.start_us
                       ? double(g_run.last_response_us - g_run.start_us) / 1e6
                       : 0.0;
  uint64_t answered = g_run.ok;
  std::string errors;
  for (auto [status, n] : g_run.errors) {
    char item[48];
    std::snprintf(item, sizeof item, "%s\"0x%02X\":%" PRIu64, errors.empty() ? "" : ",", status, n);
    errors += item;
    answered += n;
  }
  std::printf(
      "{\"connections\":%u,\"window\":%u,\"sent\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"errors\":{%s},"
      "\"elapsed_s\":%.3f,\"msg_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
      "\"receipts\":%" PRIu64 ",\"unanswered\":%" PRIu64 "}\n",
      g_opt.connections, g_opt.window, g_run.sent, g_run.ok, errors.c_str(), elapsed,
      elapsed > 0 ? double(g_run.ok) / elapsed : 0.0, g_histogram.percentile(0.50), g_histogram.percentile(0.99),
      g_histogram.percentile(0.999), g_run.receipts, g_run.sent - std::min(g_run.sent, answered));
  std::fflush(stdout);
  if (g_run.unexpected)
    std::fprintf(stderr, "smpp-load: %" PRIu64 " responses matched no outstanding submit\n", g_run.unexpected);
}

// Polite exit: unbind every session, then leave when all are closed or after a short timeout.
void unbind_all() {
  uv_timer_start(&g_exit_timer, [](uv_timer_t*) { std::exit(0); }, kUnbindTimeoutMs, 0);
  for (Conn* c : g_conns) {
    if (c->closing || !c->bound) continue;
    write_header_only(c, uint32_t(Command::unbind), 0, smpp::next_sequence(c->control_sequence));
  }
  maybe_exit_after_unbind();
}

void maybe_exit_after_unbind() {
  if (!g_run.finished) return;
  for (Conn* c : g_conns)
    if (!c->closing) return;
  std::exit(0);
}

void maybe_finish() {
  if (!g_run.started || g_run.finished) return;
  bool drained = g_run.stopped_sending && g_run.outstanding == 0 && !waiting_for_receipts();
  if (!drained && !g_run.grace_expired && g_run.live_active > 0) return;
  g_run.finished = true;
  print_results();
  uv_timer_stop(&g_rate_timer);
  uv_timer_stop(&g_deadline_timer);
  uv_timer_stop(&g_grace_timer);
  unbind_all();
}

// ---- process ------------------------------------------------------------------------------

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: smpp-load --host 127.0.0.1 --port P --system-id ID --password PW\n"
               "  [--bind transmitter|transceiver] --connections C --window W (--count N | --duration S)\n"
               "  [--rate R] [--dest MSISDN] [--source ADDR] [--text T] [--registered-delivery 0|1]\n"
               "  [--warmup N] [--idle-connections K] [--grace-ms MS] [--parts N (long UCS-2 messages)]\n");
  std::exit(2);
}

uint64_t number_arg(std::string_view name, const char* v) {
  uint64_t n = 0;
  if (!sim::parse_u64(v, n)) sim::die("smpp-load: bad number for", std::string(name));
  return n;
}

double real_arg(std::string_view name, const char* v) {
  char* end = nullptr;
  double d = std::strtod(v, &end);
  if (end == v || *end != '\0' || d < 0) sim::die("smpp-load: bad number for", std::string(name));
  return d;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) usage();
    const char* v = argv[++i];
    if (a == "--host") o.host = v;
    else if (a == "--port") o.port = number_arg(a, v);
    else if (a == "--system-id") o.system_id = v;
    else if (a == "--password") o.password = v;
    else if (a == "--bind") {
      if (std::string_view(v) != "transmitter" && std::string_view(v) != "transceiver") usage();
      o.transceiver = std::string_view(v) == "transceiver";
    } else if (a == "--connections") o.connections = uint32_t(number_arg(a, v));
    else if (a == "--window") o.window = uint32_t(number_arg(a, v));
    else if (a == "--count") o.count = number_arg(a, v);
    else if (a == "--duration") o.duration_s = real_arg(a, v);
    else if (a == "--rate") o.rate = real_arg(a, v);
    else if (a == "--dest") o.dest = v;
    else if (a == "--source") o.source = v;
    else if (a == "--text") o.text = v;
    else if (a == "--registered-delivery") o.registered_delivery = uint8_t(number_arg(a, v));
    else if (a == "--parts") o.parts = unsigned(number_arg(a, v));
    else if (a == "--warmup") o.warmup = number_arg(a, v);
    else if (a == "--idle-connections") o.idle = uint32_t(number_arg(a, v));
    else if (a == "--grace-ms") o.grace_ms = number_arg(a, v);
    else usage();
  }
  if (o.port == 0 || o.port > 65535 || o.connections == 0 || o.window == 0 || o.window > (1u << 20)) usage();
  if (o.count == 0 && o.duration_s <= 0) usage();
  if (o.text.size() > 254 || o.dest.size() > 20 || o.source.size() > 20 || o.system_id.size() > 15 ||
      o.password.size() > 8)
    sim::die("smpp-load: a field exceeds its SMPP 3.4 length (text 254, addresses 20, system_id 15, password 8)");
  if (uv_ip4_addr(o.host.c_str(), int(o.port), &o.addr) != 0) sim::die("smpp-load: bad --host", o.host);
  return o;
}

// 1,000 idle sessions need more descriptors than the usual soft limit of 1,024.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  g_opt = parse_options(argc, argv);
  raise_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  g_loop = uv_default_loop();
  g_submit_template = build_submit_template();
  if (g_opt.parts > 1) g_part_templates = build_part_templates(g_opt.parts);

  for (uint32_t i = 0; i < g_opt.connections + g_opt.idle; ++i) {
    Conn* c = new Conn(i >= g_opt.connections, g_opt.window);
    c->index = i;
    g_conns.push_back(c);
  }
  uv_check_t check;
  uv_check_init(g_loop, &check);
  uv_check_start(&check, on_check);
  uv_prepare_t prepare;
  uv_prepare_init(g_loop, &prepare);
  uv_prepare_start(&prepare, on_prepare);
  for (uv_timer_t* t : {&g_setup_timer, &g_rate_timer, &g_deadline_timer, &g_grace_timer, &g_exit_timer})
    uv_timer_init(g_loop, t);
  uv_timer_start(&g_setup_timer, [](uv_timer_t*) { sim::die("smpp-load: connect and bind did not finish in 30 s"); },
                 kSetupTimeoutMs, 0);
  open_more_connections();
  return uv_run(g_loop, UV_RUN_DEFAULT);
}
