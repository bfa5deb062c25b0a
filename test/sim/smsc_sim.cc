// smsc-sim: a lean single-process SMSC simulator (one operator) for the demo and the benchmark.
#include <signal.h>
#include <uv.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "smpp/framer.h"
#include "smpp/pdu_view.h"
#include "smpp/protocol.h"
#include "test/sim/sim_common.h"

namespace {

using smpp::Command;
namespace st = smpp::status;

constexpr size_t kMaxPdu = 16 * 1024;        // well above what SMSCs accept; bounds per-session memory
constexpr size_t kReadBuffer = 64 * 1024;    // large reads: one syscall drains several windows
constexpr size_t kPauseReadingAbove = 8 << 20;  // a peer that does not read stops being read
constexpr uint64_t kFirstMessageId = 1000000000;  // hex and decimal renderings differ from the start
constexpr uint8_t kMessageStateDelivered = 2;

struct Options {
  sockaddr_in listen{};
  std::string system_id, password;  // empty: any bind is accepted
  bool hex_ids = false;
  bool receipts = false;
  uint64_t receipt_delay_ms = 0;
  uint64_t delay_ms = 0;
  uint32_t reject_status = 0;
  uint64_t reject_every = 1;
  uint64_t drop_after = 0;
  uint64_t throttle_window = 0;
  std::string stats_file;
};

struct Counters {
  uint64_t submits = 0;
  uint64_t receipts_sent = 0;
  uint64_t binds = 0;
};

Options g_opt;
Counters g_count;
uint64_t g_next_message_id = kFirstMessageId;
uint64_t g_reject_counter = 0;
uv_loop_t* g_loop = nullptr;

// What a receipt needs from its submit_sm; fixed-size so queues never allocate per message.
struct SubmitInfo {
  uint8_t src_ton = 0, src_npi = 0, dst_ton = 0, dst_npi = 0;
  uint8_t src_len = 0, dst_len = 0;
  bool wants_receipt = false;
  char src[21]{};
  char dst[21]{};
};

struct Pending {
  uint64_t due_us;
  uint32_t sequence;
  uint32_t status;
  uint64_t message_id;
  SubmitInfo info;
};

// A ring buffer that grows by doubling; FIFO order is due-time order because delays are constant.
template <class T>
class Fifo {
 public:
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  T& front() { return slots_[head_]; }
  void pop() {
    head_ = (head_ + 1) & (slots_.size() - 1);
    --count_;
  }
  void push(const T& v) {
    if (count_ == slots_.size()) grow();
    slots_[(head_ + count_) & (slots_.size() - 1)] = v;
    ++count_;
  }
  void clear() { head_ = count_ = 0; }

 private:
  void grow() {
    std::vector<T> bigger(std::max<size_t>(64, slots_.size() * 2));
    for (size_t i = 0; i < count_; ++i) bigger[i] = slots_[(head_ + i) & (slots_.size() - 1)];
    slots_.swap(bigger);
    head_ = 0;
  }
  std::vector<T> slots_;
  size_t head_ = 0, count_ = 0;
};

enum class BindKind { none, transmitter, receiver, transceiver };

struct Conn {
  uv_tcp_t tcp{};
  uv_timer_t response_timer{};
  uv_timer_t receipt_timer{};
  smpp::Framer framer{kMaxPdu, kReadBuffer};
  sim::Output out;
  BindKind bound = BindKind::none;
  std::string system_id;
  uint32_t sequence = 0;  // for the deliver_sm we originate
  Fifo<Pending> responses;
  Fifo<Pending> receipts;
  int open_handles = 0;
  bool closing = false;
  bool close_after_flush = false;
  bool dirty = false;
  bool reading_paused = false;
};

std::vector<Conn*> g_conns;  // for routing receipts to a receiver session of the same system_id
std::vector<Conn*> g_dirty;  // connections with output to flush in this loop iteration

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

// ---- connection lifetime -------------------------------------------------------------------

void on_handle_closed(uv_handle_t* h) {
  Conn* c = static_cast<Conn*>(h->data);
  if (--c->open_handles == 0) delete c;
}

void close_conn(Conn* c) {
  if (c->closing) return;
  c->closing = true;
  g_conns.erase(std::remove(g_conns.begin(), g_conns.end(), c), g_conns.end());
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_handle_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->response_timer), on_handle_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->receipt_timer), on_handle_closed);
}

void flush_conn(Conn* c) {
  if (c->closing) return;
  if (c->out.flush(reinterpret_cast<uv_stream_t*>(&c->tcp)) < 0) return close_conn(c);
  if (c->close_after_flush && !c->out.writing()) close_conn(c);
}

void on_output_drained(sim::Output* out, int status) {
  Conn* c = static_cast<Conn*>(out->owner);
  if (status < 0 || c->closing) return close_conn(c);
  mark_dirty(c);  // more may have queued while the write was in flight
}

// ---- responses we write --------------------------------------------------------------------

void write_header_only(Conn* c, uint32_t command_id, uint32_t status, uint32_t sequence) {
  sim::PduWriter w(out_of(c), command_id, status, sequence);
  w.finish();
}

size_t format_decimal(uint64_t v, char* out) { return size_t(std::to_chars(out, out + 24, v).ptr - out); }

size_t format_hex_upper(uint64_t v, char* out) {
  size_t n = size_t(std::to_chars(out, out + 24, v, 16).ptr - out);
  for (size_t i = 0; i < n; ++i)
    if (out[i] >= 'a') out[i] = char(out[i] - 'a' + 'A');
  return n;
}

void write_submit_resp(Conn* c, uint32_t sequence, uint32_t status, uint64_t message_id) {
  sim::PduWriter w(out_of(c), uint32_t(Command::submit_sm_resp), status, sequence);
  if (status == st::ESME_ROK) {  // SMPP 3.4 4.4.2: no body on error
    char id[24];
    size_t n = g_opt.hex_ids ? format_hex_upper(message_id, id) : format_decimal(message_id, id);
    w.cstr(std::string_view(id, n));
  }
  w.finish();
}

// Receipts go back on the submitting session when it can receive, else to any receiver-capable
// session bound with the same system_id (how an SMSC treats a transmitter+receiver pair).
Conn* receipt_target(Conn* from) {
  if (from->bound == BindKind::transceiver) return from;
  for (Conn* c : g_conns)
    if ((c->bound == BindKind::receiver || c->bound == BindKind::transceiver) && c->system_id == from->system_id)
      return c;
  return nullptr;
}

void write_receipt(Conn* c, const Pending& p) {
  // The receipt carries the id in decimal even with --id-format hex, as some operators do.
  char id[24];
  size_t id_len = format_decimal(p.message_id, id);
  id[id_len] = '\0';
  char text[160];
  int text_len = std::snprintf(text, sizeof text,
                               "id:%s sub:001 dlvrd:001 submit date:2611221200 done date:2611221200 "
                               "stat:DELIVRD err:000 text:",
                               id);
  const SubmitInfo& s = p.info;
  // Laid out by hajib's own writer (smpp/pdu_writer.cc, generated from smpp/pdu.def).
  smpp::ShortMessageView r;
  r.source_addr_ton = s.dst_ton;
  r.source_addr_npi = s.dst_npi;
  r.source_addr = std::string_view(s.dst, s.dst_len);
  r.dest_addr_ton = s.src_ton;
  r.dest_addr_npi = s.src_npi;
  r.destination_addr = std::string_view(s.src, s.src_len);
  r.esm_class = 0x04;  // SMSC delivery receipt
  r.short_message = std::string_view(text, size_t(text_len));
  // receipted_message_id (a C-string) and message_state, as raw TLVs.
  char tlvs[4 + sizeof id + 5];
  size_t n = 0;
  auto tlv = [&](uint16_t tag, const void* value, size_t len) {
    smpp::store_be16(reinterpret_cast<uint8_t*>(tlvs + n), tag);
    smpp::store_be16(reinterpret_cast<uint8_t*>(tlvs + n + 2), uint16_t(len));
    std::memcpy(tlvs + n + 4, value, len);
    n += 4 + len;
  };
  tlv(0x001E, id, id_len + 1);
  tlv(0x0427, &kMessageStateDelivered, 1);
  r.optional_part = std::string_view(tlvs, n);
  std::string pdu;
  smpp::encode_short_message(pdu, Command::deliver_sm, smpp::next_sequence(c->sequence), r);
  auto& out = out_of(c);
  out.insert(out.end(), pdu.begin(), pdu.end());
  ++g_count.receipts_sent;
}

void send_receipt_now(Conn* from, const Pending& p) {
  if (Conn* to = receipt_target(from)) write_receipt(to, p);
}

uint64_t ms_until(uint64_t due_us, uint64_t now) { return due_us > now ? (due_us - now + 999) / 1000 : 0; }

void arm_timer(uv_timer_t* t, uv_timer_cb cb, uint64_t due_us, uint64_t now) {
  uv_timer_start(t, cb, ms_until(due_us, now), 0);
}

void on_receipt_timer(uv_timer_t* t);

void schedule_receipt(Conn* c, const Pending& p, uint64_t now) {
  if (g_opt.receipt_delay_ms == 0) return send_receipt_now(c, p);
  Pending r = p;
  r.due_us = now + g_opt.receipt_delay_ms * 1000;
  if (c->receipts.empty()) arm_timer(&c->receipt_timer, on_receipt_timer, r.due_us, now);
  c->receipts.push(r);
}

void answer_submit(Conn* c, const Pending& p, uint64_t now) {
  write_submit_resp(c, p.sequence, p.status, p.message_id);
  if (g_opt.receipts && p.status == st::ESME_ROK && p.info.wants_receipt) schedule_receipt(c, p, now);
}

// Timers fire at ms granularity: anything due within the next half millisecond goes now too.
constexpr uint64_t kTimerSlackUs = 500;

template <class Fn>
void drain_due(Fifo<Pending>& q, uv_timer_t* t, uv_timer_cb cb, Fn&& handle) {
  uint64_t now = sim::now_us();
  while (!q.empty() && q.front().due_us <= now + kTimerSlackUs) {
    Pending p = q.front();
    q.pop();
    handle(p, now);
  }
  if (!q.empty()) arm_timer(t, cb, q.front().due_us, now);
}

void on_response_timer(uv_timer_t* t) {
  Conn* c = static_cast<Conn*>(t->data);
  drain_due(c->responses, t, on_response_timer, [c](const Pending& p, uint64_t now) { answer_submit(c, p, now); });
}

void on_receipt_timer(uv_timer_t* t) {
  Conn* c = static_cast<Conn*>(t->data);
  drain_due(c->receipts, t, on_receipt_timer, [c](const Pending& p, uint64_t) { send_receipt_now(c, p); });
}

// ---- requests we read ----------------------------------------------------------------------

// Walks the submit_sm mandatory fields with bounds checks. Returns ESME_ROK or the status to answer.
uint32_t parse_submit(const uint8_t* p, const uint8_t* end, SubmitInfo& s) {
  std::string_view field;
  uint8_t skip = 0, registered_delivery = 0, sm_length = 0;
  if (!sim::read_cstr(p, end, 6, field)) return st::ESME_RINVCMDLEN;  // service_type
  if (!sim::read_u8(p, end, s.src_ton) || !sim::read_u8(p, end, s.src_npi)) return st::ESME_RINVCMDLEN;
  if (!sim::read_cstr(p, end, 21, field)) return st::ESME_RINVSRCADR;
  s.src_len = uint8_t(field.size());
  std::memcpy(s.src, field.data(), field.size());
  if (!sim::read_u8(p, end, s.dst_ton) || !sim::read_u8(p, end, s.dst_npi)) return st::ESME_RINVCMDLEN;
  if (!sim::read_cstr(p, end, 21, field)) return st::ESME_RINVDSTADR;
  s.dst_len = uint8_t(field.size());
  std::memcpy(s.dst, field.data(), field.size());
  for (int i = 0; i < 3; ++i)  // esm_class, protocol_id, priority_flag
    if (!sim::read_u8(p, end, skip)) return st::ESME_RINVCMDLEN;
  if (!sim::read_cstr(p, end, 17, field) || !sim::read_cstr(p, end, 17, field)) return st::ESME_RINVCMDLEN;
  if (!sim::read_u8(p, end, registered_delivery)) return st::ESME_RINVCMDLEN;
  for (int i = 0; i < 3; ++i)  // replace_if_present_flag, data_coding, sm_default_msg_id
    if (!sim::read_u8(p, end, skip)) return st::ESME_RINVCMDLEN;
  if (!sim::read_u8(p, end, sm_length)) return st::ESME_RINVCMDLEN;
  if (size_t(end - p) < sm_length) return st::ESME_RINVMSGLEN;
  s.wants_receipt = (registered_delivery & 1) != 0;
  return st::ESME_ROK;
}

uint32_t choose_status() {
  if (g_opt.reject_status == 0) return st::ESME_ROK;
  return ++g_reject_counter % g_opt.reject_every == 0 ? g_opt.reject_status : st::ESME_ROK;
}

// Returns false when the connection was dropped and the rest of the read must be discarded.
bool on_submit(Conn* c, const smpp::Header& h, const uint8_t* body, const uint8_t* end, uint64_t now) {
  ++g_count.submits;
  if (g_opt.drop_after && g_count.submits == g_opt.drop_after) {
    flush_conn(c);  // earlier submits keep their answers; only this one goes unanswered
    close_conn(c);
    return false;
  }
  if (c->bound != BindKind::transmitter && c->bound != BindKind::transceiver) {
    write_header_only(c, uint32_t(Command::submit_sm_resp), st::ESME_RINVBNDSTS, h.sequence);
    return true;
  }
  Pending p{0, h.sequence, st::ESME_ROK, 0, {}};
  p.status = parse_submit(body, end, p.info);
  if (p.status == st::ESME_ROK && g_opt.throttle_window && c->responses.size() >= g_opt.throttle_window)
    p.status = st::ESME_RTHROTTLED;  // answered at once, so the window is never exceeded
  else if (p.status == st::ESME_ROK)
    p.status = choose_status();
  if (p.status == st::ESME_ROK) p.message_id = g_next_message_id++;
  if (g_opt.delay_ms == 0 || p.status == st::ESME_RTHROTTLED) {
    answer_submit(c, p, now);
    return true;
  }
  p.due_us = now + g_opt.delay_ms * 1000;
  if (c->responses.empty()) arm_timer(&c->response_timer, on_response_timer, p.due_us, now);
  c->responses.push(p);
  return true;
}

bool credentials_ok(std::string_view system_id, std::string_view password) {
  if (g_opt.system_id.empty() && g_opt.password.empty()) return true;
  return system_id == g_opt.system_id && password == g_opt.password;
}

void on_bind(Conn* c, const smpp::Header& h, const uint8_t* body, const uint8_t* end, BindKind kind) {
  uint32_t resp_id = h.command_id | smpp::kResponseBit;
  std::string_view system_id, password;
  if (c->bound != BindKind::none) return write_header_only(c, resp_id, st::ESME_RALYBND, h.sequence);
  if (!sim::read_cstr(body, end, 16, system_id) || !sim::read_cstr(body, end, 9, password))
    return write_header_only(c, resp_id, st::ESME_RINVCMDLEN, h.sequence);
  if (!credentials_ok(system_id, password)) return write_header_only(c, resp_id, st::ESME_RINVPASWD, h.sequence);
  c->bound = kind;
  c->system_id.assign(system_id);
  ++g_count.binds;
  sim::PduWriter w(out_of(c), resp_id, st::ESME_ROK, h.sequence);
  w.cstr("smsc-sim");
  w.tlv(0x0210, &smpp::kInterfaceVersion, 1);  // sc_interface_version
  w.finish();
}

// Returns false when nothing more may be read from this connection.
bool dispatch(Conn* c, std::string_view pdu, uint64_t now) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(pdu.data());
  const uint8_t* end = p + pdu.size();
  smpp::Header h = smpp::read_header(p);
  const uint8_t* body = p + smpp::kHeaderSize;
  switch (Command(h.command_id)) {
    case Command::submit_sm:
      return on_submit(c, h, body, end, now);
    case Command::bind_transmitter:
      on_bind(c, h, body, end, BindKind::transmitter);
      return true;
    case Command::bind_receiver:
      on_bind(c, h, body, end, BindKind::receiver);
      return true;
    case Command::bind_transceiver:
      on_bind(c, h, body, end, BindKind::transceiver);
      return true;
    case Command::enquire_link:
      write_header_only(c, uint32_t(Command::enquire_link_resp), st::ESME_ROK, h.sequence);
      return true;
    case Command::unbind:
      write_header_only(c, uint32_t(Command::unbind_resp), st::ESME_ROK, h.sequence);
      c->close_after_flush = true;
      return false;
    default:
      // Responses (deliver_sm_resp, enquire_link_resp, generic_nack...) need nothing from us.
      if (!smpp::is_response(h.command_id))
        write_header_only(c, uint32_t(Command::generic_nack), st::ESME_RINVCMDID, h.sequence);
      return true;
  }
}

void on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  Conn* c = static_cast<Conn*>(h->data);
  auto space = c->framer.writable();
  *buf = uv_buf_init(reinterpret_cast<char*>(space.data), unsigned(space.size));
}

void pause_reading_if_backlogged(Conn* c) {
  if (!c->reading_paused && c->out.queued() > kPauseReadingAbove) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
    c->reading_paused = true;
  }
}

void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  Conn* c = static_cast<Conn*>(s->data);
  if (nread < 0) return close_conn(c);
  if (nread == 0 || c->closing || c->close_after_flush) return;
  c->framer.commit(size_t(nread));
  uint64_t now = sim::now_us();
  std::string_view pdu;
  uint32_t bad_length = 0;
  for (;;) {
    smpp::Framer::Result r = c->framer.next(pdu, bad_length);
    if (r == smpp::Framer::Result::need_more) break;
    if (r != smpp::Framer::Result::pdu) {  // the stream cannot be resynchronised
      write_header_only(c, uint32_t(Command::generic_nack), st::ESME_RINVCMDLEN, 0);
      c->close_after_flush = true;
      break;
    }
    if (!dispatch(c, pdu, now)) break;
  }
  pause_reading_if_backlogged(c);
}

void resume_reading_if_drained(Conn* c) {
  if (c->reading_paused && !c->closing && c->out.queued() < kPauseReadingAbove / 2) {
    c->reading_paused = false;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_read);
  }
}

// One write per connection for everything queued since the last flush. Runs from a check
// handle (after I/O callbacks) and a prepare handle (after timers, before the loop may block).
void flush_dirty() {
  for (size_t i = 0; i < g_dirty.size(); ++i) {  // flushing may close, never appends
    Conn* c = g_dirty[i];
    c->dirty = false;
    flush_conn(c);
    resume_reading_if_drained(c);
  }
  g_dirty.clear();
}

void on_check(uv_check_t*) { flush_dirty(); }
void on_prepare(uv_prepare_t*) { flush_dirty(); }

void init_timer(Conn* c, uv_timer_t* t) {
  uv_timer_init(g_loop, t);
  t->data = c;
  ++c->open_handles;
}

void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  Conn* c = new Conn;
  uv_tcp_init(g_loop, &c->tcp);
  c->tcp.data = c;
  ++c->open_handles;
  init_timer(c, &c->response_timer);
  init_timer(c, &c->receipt_timer);
  c->out.owner = c;
  c->out.on_drained = on_output_drained;
  g_conns.push_back(c);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) return close_conn(c);
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_read);
}

// ---- process ------------------------------------------------------------------------------

std::string stats_json() {
  char line[160];
  std::snprintf(line, sizeof line, "{\"submits\":%" PRIu64 ",\"receipts_sent\":%" PRIu64 ",\"binds\":%" PRIu64 "}",
                g_count.submits, g_count.receipts_sent, g_count.binds);
  return line;
}

// Written to a temporary name then renamed, so a reader never sees half a line.
void write_stats_file() {
  if (g_opt.stats_file.empty()) return;
  std::string tmp = g_opt.stats_file + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return;
  std::fprintf(f, "%s\n", stats_json().c_str());
  std::fclose(f);
  std::rename(tmp.c_str(), g_opt.stats_file.c_str());
}

void on_stats_timer(uv_timer_t*) { write_stats_file(); }

void on_signal(uv_signal_t*, int) {
  std::printf("%s\n", stats_json().c_str());
  std::fflush(stdout);
  write_stats_file();
  std::exit(0);
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: smsc-sim --listen 127.0.0.1:PORT [--system-id ID --password PW] [--id-format hex|decimal]\n"
               "  [--receipts [--receipt-delay-ms N]] [--delay-ms N] [--throttle-window N]\n"
               "  [--reject-status 0xNN [--reject-every K]] [--drop-after N] [--stats-file F]\n");
  std::exit(2);
}

uint64_t number_arg(std::string_view name, const char* v) {
  uint64_t n = 0;
  if (!sim::parse_u64(v, n)) sim::die("smsc-sim: bad number for", std::string(name));
  return n;
}

Options parse_options(int argc, char** argv) {
  Options o;
  bool have_listen = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--receipts") {
      o.receipts = true;
      continue;
    }
    if (i + 1 >= argc) usage();
    const char* v = argv[++i];
    if (a == "--listen") {
      if (!sim::parse_host_port(v, o.listen)) sim::die("smsc-sim: bad --listen", v);
      have_listen = true;
    } else if (a == "--system-id") {
      o.system_id = v;
    } else if (a == "--password") {
      o.password = v;
    } else if (a == "--id-format") {
      if (std::string_view(v) != "hex" && std::string_view(v) != "decimal") usage();
      o.hex_ids = std::string_view(v) == "hex";
    } else if (a == "--receipt-delay-ms") {
      o.receipt_delay_ms = number_arg(a, v);
    } else if (a == "--delay-ms") {
      o.delay_ms = number_arg(a, v);
    } else if (a == "--reject-status") {
      o.reject_status = uint32_t(number_arg(a, v));
    } else if (a == "--reject-every") {
      o.reject_every = std::max<uint64_t>(1, number_arg(a, v));
    } else if (a == "--drop-after") {
      o.drop_after = number_arg(a, v);
    } else if (a == "--throttle-window") {
      o.throttle_window = number_arg(a, v);
    } else if (a == "--stats-file") {
      o.stats_file = v;
    } else {
      usage();
    }
  }
  if (!have_listen) usage();
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  g_opt = parse_options(argc, argv);
  g_loop = uv_default_loop();

  uv_tcp_t server;
  uv_tcp_init(g_loop, &server);
  int rc = uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&g_opt.listen), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server), 1024, on_connection);
  if (rc != 0) sim::die("smsc-sim: cannot listen", uv_strerror(rc));
  sockaddr_in bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&bound), &len);
  char ip[32];
  uv_ip4_name(&bound, ip, sizeof ip);
  std::printf("listening %s:%d\n", ip, ntohs(bound.sin_port));
  std::fflush(stdout);

  uv_check_t check;
  uv_check_init(g_loop, &check);
  uv_check_start(&check, on_check);
  uv_prepare_t prepare;
  uv_prepare_init(g_loop, &prepare);
  uv_prepare_start(&prepare, on_prepare);
  uv_signal_t sigterm, sigint;
  uv_signal_init(g_loop, &sigterm);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  uv_signal_init(g_loop, &sigint);
  uv_signal_start(&sigint, on_signal, SIGINT);
  uv_timer_t stats_timer;
  uv_timer_init(g_loop, &stats_timer);
  if (!g_opt.stats_file.empty()) uv_timer_start(&stats_timer, on_stats_timer, 1000, 1000);
  signal(SIGPIPE, SIG_IGN);

  return uv_run(g_loop, UV_RUN_DEFAULT);
}
