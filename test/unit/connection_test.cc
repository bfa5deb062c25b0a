// proxy/connection: a peer that does not read what we send is paused, then closed; one that reads late is resumed.
#include <catch2/catch.hpp>

#include <uv.h>

#include <memory>
#include <string>

#include "proxy/net/connection.h"
#include "proxy/stats/stats.h"
#include "smpp/protocol.h"

namespace {

constexpr size_t kAnswerBytes = 8192;  // each request is answered with this much

// Answers every PDU with kAnswerBytes and records how much output was ever waiting.
class Answering final : public proxy::Connection {
 public:
  Answering(uv_loop_t* loop, const proxy::ConnectionLimits& limits, proxy::Counters& counters)
      : Connection(loop, limits, counters) {}
  size_t pdus = 0, most_unwritten = 0;
  bool closed = false;

 protected:
  void on_pdu(std::string_view) override {
    ++pdus;
    out().append(kAnswerBytes, 'x');
    most_unwritten = std::max(most_unwritten, unwritten());
  }
  void on_closed() override { closed = true; }
};

// A listener, the connection it accepts, and a client that sends `requests` enquire_links and
// starts reading only after `read_after_ms` (never, if 0).
struct World {
  uv_loop_t loop{};
  uv_tcp_t listener{}, client{};
  uv_connect_t connect{};
  uv_write_t write{};
  uv_timer_t start_reading{}, give_up{};
  uv_prepare_t check{};
  proxy::Counters counters;
  proxy::ConnectionLimits limits;
  std::unique_ptr<Answering> server;
  std::string requests;
  char buf[65536];
  size_t received = 0, expected = 0;
  size_t most_unwritten = 0, pdus = 0;  // the server's records, kept past its destruction
  uint64_t read_after_ms = 0;

  World(size_t n, uint64_t read_after, proxy::ConnectionLimits l) : limits(l), read_after_ms(read_after) {
    for (size_t i = 0; i < n; ++i) {
      uint8_t h[16];
      smpp::write_header(h, smpp::Header{16, uint32_t(smpp::Command::enquire_link), 0, uint32_t(i + 1)});
      requests.append(reinterpret_cast<char*>(h), sizeof h);
    }
    expected = n * kAnswerBytes;
  }

  void run() {
    uv_loop_init(&loop);
    uv_tcp_init(&loop, &listener);
    uv_tcp_init(&loop, &client);
    uv_timer_init(&loop, &start_reading);
    uv_timer_init(&loop, &give_up);
    listener.data = client.data = connect.data = start_reading.data = give_up.data = this;
    sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    REQUIRE(uv_tcp_bind(&listener, reinterpret_cast<sockaddr*>(&addr), 0) == 0);
    REQUIRE(uv_listen(reinterpret_cast<uv_stream_t*>(&listener), 8, [](uv_stream_t* s, int) {
              auto* w = static_cast<World*>(s->data);
              w->server = std::make_unique<Answering>(&w->loop, w->limits, w->counters);
              REQUIRE(uv_accept(s, reinterpret_cast<uv_stream_t*>(w->server->tcp())) == 0);
              w->server->start_reading();
            }) == 0);
    int len = sizeof addr;
    uv_tcp_getsockname(&listener, reinterpret_cast<sockaddr*>(&addr), &len);
    uv_tcp_connect(&connect, &client, reinterpret_cast<sockaddr*>(&addr), [](uv_connect_t* c, int status) {
      REQUIRE(status == 0);
      auto* w = static_cast<World*>(c->data);
      uv_buf_t b = uv_buf_init(w->requests.data(), unsigned(w->requests.size()));
      uv_write(&w->write, reinterpret_cast<uv_stream_t*>(&w->client), &b, 1, [](uv_write_t*, int) {});
      if (w->read_after_ms) uv_timer_start(&w->start_reading, begin_reading, w->read_after_ms, 0);
    });
    uv_timer_start(&give_up, [](uv_timer_t* t) { static_cast<World*>(t->data)->finish(); }, 20000, 0);
    // Ends when the server side closed (slow reader) or everything arrived.
    uv_prepare_init(&loop, &check);
    check.data = this;
    uv_prepare_start(&check, [](uv_prepare_t* p) {
      auto* w = static_cast<World*>(p->data);
      if ((w->server && w->server->closed) || (w->expected && w->received >= w->expected)) w->finish();
    });
    uv_run(&loop, UV_RUN_DEFAULT);
    if (server) {
      most_unwritten = server->most_unwritten;
      pdus = server->pdus;
    }
    server.reset();
    CHECK(uv_loop_close(&loop) == 0);
  }

  static void begin_reading(uv_timer_t* t) {
    auto* w = static_cast<World*>(t->data);
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&w->client),
        [](uv_handle_t* h, size_t, uv_buf_t* b) {
          auto* self = static_cast<World*>(h->data);
          *b = uv_buf_init(self->buf, sizeof self->buf);
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t*) {
          if (n > 0) static_cast<World*>(s->data)->received += size_t(n);
        });
  }

  void finish() {
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&listener))) return;
    if (server && !server->closed) server->close("test over");
    for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&listener), reinterpret_cast<uv_handle_t*>(&client),
                           reinterpret_cast<uv_handle_t*>(&start_reading), reinterpret_cast<uv_handle_t*>(&give_up),
                           reinterpret_cast<uv_handle_t*>(&check)})
      uv_close(h, nullptr);
  }
};

}  // namespace

TEST_CASE("a peer that sends and never reads is paused at the output bound, then closed and counted") {
  proxy::ConnectionLimits limits{8192, 64 << 10, 300};
  World w(4000, 0, limits);  // 32 MB of answers if nothing stopped it: far beyond the kernel's buffers
  w.run();
  CHECK(w.pdus < 4000);  // its requests wait unread
  CHECK(w.most_unwritten <= limits.output_max + kAnswerBytes);
  CHECK(w.counters.read_pauses_output_full >= 1);  // again each time the kernel took a little more
  CHECK(w.counters.sessions_closed_slow_reader == 1);
  CHECK(w.received == 0);
}

TEST_CASE("the output bound holds to within one answer, and a peer that reads late is resumed, not closed") {
  proxy::ConnectionLimits limits{8192, 64 << 10, 5000};
  World w(4000, 200, limits);
  w.run();
  CHECK(w.pdus == 4000);
  CHECK(w.received == w.expected);  // every answer arrived
  CHECK(w.most_unwritten <= limits.output_max + kAnswerBytes);
  CHECK(w.counters.read_pauses_output_full >= 1);
  CHECK(w.counters.sessions_closed_slow_reader == 0);
}
