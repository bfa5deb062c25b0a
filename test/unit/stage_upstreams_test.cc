// proxy/upstream: the operator side alone, with fakes of the submit stage (SubmitAnswers) and the
// deliver stage (OperatorDeliveries), and a tiny SMSC on the same loop: routing (prefixes, ported
// numbers), the links' windows and queue, one answer per submit, acknowledgements per link.
#include <catch2/catch.hpp>

#include <memory>

#include "smpp/framer.h"
#include "stage_fakes.h"

namespace {

using namespace stage_fakes;
using smpp::Command;
namespace status = smpp::status;

constexpr const char* kNumber = "966501234567";

// ---- a tiny SMSC: binds anyone, answers submit_sm (at once, or when the test says) ----

class TinySmsc {
 public:
  struct Submitted {
    int peer = 0;
    uint32_t sequence = 0;
    smpp::ShortMessage sm;
  };
  struct Response {
    int peer = 0;
    smpp::Header header;
  };
  std::vector<Submitted> submits;   // in arrival order
  std::vector<Response> responses;  // responses to what we sent (deliver_sm_resp, ...)
  bool hold_answers = false;        // answer submit_sm only when answer() is called

  explicit TinySmsc(uv_loop_t* loop) : loop_(loop) {
    uv_tcp_init(loop, &listener_);
    listener_.data = this;
    sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    REQUIRE(uv_tcp_bind(&listener_, reinterpret_cast<sockaddr*>(&addr), 0) == 0);
    REQUIRE(uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 8, [](uv_stream_t* s, int st) {
              if (st == 0) static_cast<TinySmsc*>(s->data)->accept();
            }) == 0);
    int len = sizeof addr;
    uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }

  uint16_t port() const { return port_; }
  int binds() const { return binds_; }
  int connections() const { return int(peers_.size()); }

  // Answers submits[i] with message id "smsc-<i+1>".
  void answer(size_t i, uint32_t st = status::ESME_ROK) {
    const Submitted& s = submits.at(i);
    std::string out;
    smpp::encode_message_id_resp(out, Command::submit_sm_resp, s.sequence, st, "smsc-" + std::to_string(i + 1));
    write(*peers_.at(size_t(s.peer)), std::move(out));
  }
  void send_deliver(int peer, uint32_t sequence, const std::string& text) {
    smpp::ShortMessage sm;
    sm.source_addr = kNumber;
    sm.destination_addr = "7001";
    sm.short_message = text;
    write(*peers_.at(size_t(peer)), encode(Command::deliver_sm, sm, sequence));
  }
  void drop(int peer) { close_peer(*peers_.at(size_t(peer))); }
  bool has_response(Command c, uint32_t sequence) const {
    for (const auto& r : responses)
      if (r.header.command_id == uint32_t(c) && r.header.sequence == sequence) return true;
    return false;
  }

  void close() {
    for (auto& p : peers_) close_peer(*p);
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&listener_)))
      uv_close(reinterpret_cast<uv_handle_t*>(&listener_), [](uv_handle_t* h) { static_cast<TinySmsc*>(h->data)->listener_closed_ = true; });
  }
  bool closed() const {
    for (const auto& p : peers_)
      if (!p->closed) return false;
    return listener_closed_;
  }

 private:
  struct Peer {
    TinySmsc* smsc = nullptr;
    int id = 0;
    uv_tcp_t tcp{};
    smpp::Framer framer{8192};
    bool closing = false, closed = false;
  };
  struct Write {
    uv_write_t req{};
    std::string bytes;
  };

  void accept() {
    auto peer = std::make_unique<Peer>();
    peer->smsc = this;
    peer->id = int(peers_.size());
    uv_tcp_init(loop_, &peer->tcp);
    peer->tcp.data = peer.get();
    REQUIRE(uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(&peer->tcp)) == 0);
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&peer->tcp),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          auto space = static_cast<Peer*>(h->data)->framer.writable();
          *buf = uv_buf_init(reinterpret_cast<char*>(space.data), unsigned(space.size));
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t*) {
          auto* p = static_cast<Peer*>(s->data);
          if (n < 0) return p->smsc->close_peer(*p);
          p->framer.commit(size_t(n));
          std::string_view pdu;
          uint32_t bad = 0;
          while (!p->closing && p->framer.next(pdu, bad) == smpp::Framer::Result::pdu) p->smsc->on_pdu(*p, pdu);
        });
    peers_.push_back(std::move(peer));
  }

  void on_pdu(Peer& p, std::string_view pdu) {
    smpp::Header h = header_of(pdu);
    std::string out;
    switch (Command(h.command_id)) {
      case Command::bind_transceiver:
        ++binds_;
        smpp::encode_bind_resp(out, Command::bind_transceiver, h.sequence, status::ESME_ROK, smpp::BindResp{"tiny", {}});
        break;
      case Command::submit_sm:
        submits.push_back({p.id, h.sequence, decode(pdu)});
        if (!hold_answers) return answer(submits.size() - 1);
        break;
      case Command::enquire_link: smpp::encode_header_only(out, Command::enquire_link_resp, h.sequence); break;
      case Command::unbind: smpp::encode_header_only(out, Command::unbind_resp, h.sequence); break;
      default:
        if (smpp::is_response(h.command_id)) responses.push_back({p.id, h});
        break;
    }
    if (!out.empty()) write(p, std::move(out));
  }

  void write(Peer& p, std::string bytes) {
    if (p.closing) return;
    auto* w = new Write{{}, std::move(bytes)};
    w->req.data = w;
    uv_buf_t buf = uv_buf_init(w->bytes.data(), unsigned(w->bytes.size()));
    if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&p.tcp), &buf, 1,
                 [](uv_write_t* req, int) { delete static_cast<Write*>(req->data); }) != 0)
      delete w;
  }

  void close_peer(Peer& p) {
    if (p.closing) return;
    p.closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&p.tcp), [](uv_handle_t* h) { static_cast<Peer*>(h->data)->closed = true; });
  }

  uv_loop_t* loop_;
  uv_tcp_t listener_{};
  uint16_t port_ = 0;
  int binds_ = 0;
  bool listener_closed_ = false;
  std::vector<std::unique_ptr<Peer>> peers_;
};

// ---- the stage ----

// Two operators and their ranges, for routing: no link is ever started with it.
const std::string kRoutingConfig = R"(listen: { smpp: "127.0.0.1:0", stats: "127.0.0.1:0" }
state: memory
upstreams:
  stc:    { host: 127.0.0.1, port: 9, system_id: hajib, password: pw }
  mobily: { host: 127.0.0.1, port: 9, system_id: hajib, password: pw }
routes:
  prefixes: { "96650": stc, "966540": stc, "96654": mobily }
)";

// One operator, whose port is the tiny SMSC's once it listens.
std::string link_config(int sessions, int window, int response_timeout_ms = 5000) {
  return R"(listen: { smpp: "127.0.0.1:0", stats: "127.0.0.1:0" }
state: memory
limits: { response_timeout_ms: )" + std::to_string(response_timeout_ms) + R"(, enquire_link_s: 60 }
upstreams:
  stc: { host: 127.0.0.1, port: 9, system_id: hajib, password: pw, sessions: )" +
         std::to_string(sessions) + ", window: " + std::to_string(window) + R"(, reconnect_min_ms: 10, reconnect_max_ms: 20 }
routes:
  prefixes: { "96650": stc }
)";
}

// A submit as the submit stage hands it over; `n` is its customer sequence and in its text.
proxy::SubmitPtr submit(uint32_t n) {
  auto s = proxy::new_submit();
  s->customer = 1;
  s->customer_sequence = n;
  s->upstream = 0;
  s->destination = kNumber;
  smpp::ShortMessage sm;
  sm.source_addr = "ACME";
  sm.dest_addr_ton = 1;
  sm.dest_addr_npi = 1;
  sm.destination_addr = kNumber;
  sm.short_message = "message " + std::to_string(n);
  s->pdu = encode(Command::submit_sm, sm, n);  // the customer's sequence: the link puts in its own
  return s;
}

// The operator side on its own: routing needs no link, so nothing is started unless start() is.
struct Stage {
  World world;
  FakeSubmitAnswers answers;
  FakeOperatorDeliveries deliveries;
  std::unique_ptr<TinySmsc> smsc;
  proxy::Upstreams upstreams;
  bool started = false;

  explicit Stage(const std::string& yaml = kRoutingConfig) : world(yaml), upstreams(*world.ctx) {
    upstreams.wire(&answers, &deliveries);
  }
  // Points stc at a tiny SMSC, starts its links and waits until every one is bound.
  void start() {
    smsc = std::make_unique<TinySmsc>(&world.loop);
    world.ctx->config.upstreams.at(0).address.port = smsc->port();
    upstreams.start();
    started = true;
    int sessions = world.ctx->config.upstreams[0].sessions;
    REQUIRE(world.run_until([&] { return world.counters().upstream_connects == uint64_t(sessions); }));
  }
  ~Stage() {
    world.ctx->shutting_down = true;  // no reconnects
    if (started) {
      upstreams.for_each_link([](proxy::Connection& c) { c.close("test over"); });
      CHECK(world.run_until([&] { return upstreams.no_links(); }));
      upstreams.stop();
    }
    if (smsc) {
      smsc->close();
      CHECK(world.run_until([&] { return smsc->closed(); }));
    }
    world.settle();
  }
  proxy::UpstreamSnapshot snapshot() {
    proxy::Snapshot s;
    upstreams.describe(s);
    return s.upstreams.at(0);
  }
  std::vector<uint32_t> customer_sequences(const std::vector<FakeSubmitAnswers::Answer>& list) {
    std::vector<uint32_t> out;
    for (const auto& a : list) out.push_back(a.submit->customer_sequence);
    return out;
  }
};

}  // namespace

TEST_CASE("upstreams: a number goes to the operator of its longest prefix; a range nobody serves, to none") {
  Stage s;
  CHECK(s.upstreams.route("966501234567") == 0);  // stc
  CHECK(s.upstreams.route("966551234567") == std::nullopt);
  CHECK(s.upstreams.route("966541234567") == 1);  // mobily
  CHECK(s.upstreams.route("966540123456") == 0);  // 966540 is stc's, inside mobily's 96654
}

TEST_CASE("upstreams: a ported number goes to the operator it was ported to, once the store's list is loaded") {
  Stage s;
  s.world.store->ported = {{"966501234567", "mobily"}};
  s.world.store->ported_version_value = "1";
  CHECK(s.upstreams.route("966501234567") == 0);  // not read yet
  s.upstreams.on_tick(s.world.ctx->now_ms(), true);
  s.world.settle();
  CHECK(s.upstreams.route("966501234567") == 1);
  CHECK(s.upstreams.route("966501234568") == 0);  // its neighbour was not ported
}

TEST_CASE("upstreams: ported numbers are read again only when their version changes") {
  Stage s;
  s.world.store->ported = {{"966501234567", "mobily"}};
  s.world.store->ported_version_value = "1";
  s.upstreams.on_tick(s.world.ctx->now_ms(), true);
  s.world.settle();
  REQUIRE(s.world.store->ported_reads == 1);
  s.world.store->ported.clear();  // changed without a new version: not seen
  s.upstreams.on_tick(s.world.ctx->now_ms(), true);
  s.world.settle();
  CHECK(s.world.store->ported_reads == 1);
  CHECK(s.upstreams.route("966501234567") == 1);
  s.world.store->ported_version_value = "2";
  s.upstreams.on_tick(s.world.ctx->now_ms(), true);
  s.world.settle();
  CHECK(s.world.store->ported_reads == 2);
  CHECK(s.upstreams.route("966501234567") == 0);  // ported back: the prefix again
}

TEST_CASE("upstreams: an SMSC given by host name is looked up off the loop and bound") {
  std::string yaml = link_config(1, 10);
  yaml.replace(yaml.find("host: 127.0.0.1"), 15, "host: localhost");
  Stage s(yaml);
  s.start();  // waits for the bind: before names were looked up, every attempt was a "bad address"
  CHECK(s.snapshot().links_bound == 1);
  s.upstreams.dispatch(submit(1));
  REQUIRE(s.world.run_until([&] { return s.answers.answered.size() == 1; }));
  CHECK(s.answers.answered[0].status == status::ESME_ROK);
}

TEST_CASE("upstreams: a submit with no bound link is failed ESME_RSYSERR at once") {
  Stage s;
  s.upstreams.dispatch(submit(1));
  REQUIRE(s.answers.failed.size() == 1);
  CHECK(s.answers.failed[0].status == status::ESME_RSYSERR);
  CHECK(s.answers.failed[0].submit->customer_sequence == 1);
  CHECK(s.answers.answered.empty());
  CHECK(s.world.counters().submits_temporary_error == 1);
}

TEST_CASE("upstreams: the parts of a long message with no bound link are each failed ESME_RSYSERR") {
  Stage s;
  std::vector<proxy::SubmitPtr> parts;
  parts.push_back(submit(1));
  parts.push_back(submit(2));
  s.upstreams.dispatch_in_order(0, std::move(parts));
  REQUIRE(s.answers.failed.size() == 2);
  CHECK(s.answers.failed[0].status == status::ESME_RSYSERR);
  CHECK(s.answers.failed[1].status == status::ESME_RSYSERR);
}

TEST_CASE("upstreams: once bound, a submit is answered exactly once, with the SMSC's message id") {
  Stage s(link_config(1, 10));
  s.start();
  s.smsc->hold_answers = true;
  s.upstreams.dispatch(submit(7));
  REQUIRE(s.world.run_until([&] { return s.smsc->submits.size() == 1; }));
  CHECK(s.smsc->submits[0].sm.short_message == "message 7");
  CHECK(s.smsc->submits[0].sequence != 0);
  s.smsc->answer(0);
  s.smsc->answer(0);  // the SMSC repeats itself
  s.smsc->send_deliver(0, 900, "after the answers");  // arrives after both: a barrier
  REQUIRE(s.world.run_until([&] { return s.deliveries.delivered.size() == 1; }));
  REQUIRE(s.answers.answered.size() == 1);
  CHECK(s.answers.answered[0].status == status::ESME_ROK);
  CHECK(s.answers.answered[0].operator_id == "smsc-1");
  CHECK(s.answers.answered[0].submit->customer_sequence == 7);
  CHECK(s.answers.failed.empty());
}

TEST_CASE("upstreams: submits beyond the link's window wait, and go out as answers come back") {
  Stage s(link_config(1, 2));
  s.start();
  s.smsc->hold_answers = true;
  for (uint32_t n = 1; n <= 3; ++n) s.upstreams.dispatch(submit(n));
  REQUIRE(s.world.run_until([&] { return s.smsc->submits.size() == 2; }));
  CHECK(s.snapshot().in_flight == 2);
  CHECK(s.snapshot().waiting == 1);
  s.smsc->answer(0);
  REQUIRE(s.world.run_until([&] { return s.smsc->submits.size() == 3; }));
  CHECK(s.answers.answered.size() == 1);
  CHECK(s.smsc->submits[2].sm.short_message == "message 3");
  s.smsc->answer(1);
  s.smsc->answer(2);
  REQUIRE(s.world.run_until([&] { return s.answers.answered.size() == 3; }));
  CHECK(s.customer_sequences(s.answers.answered) == std::vector<uint32_t>{1, 2, 3});
  CHECK(s.snapshot().waiting == 0);
}

TEST_CASE("upstreams: a submit that waited in the queue past response_timeout_ms is failed ESME_RTHROTTLED") {
  Stage s(link_config(1, 1));
  s.start();
  s.smsc->hold_answers = true;
  s.upstreams.dispatch(submit(1));
  s.upstreams.dispatch(submit(2));
  REQUIRE(s.world.run_until([&] { return s.smsc->submits.size() == 1; }));
  uint64_t timeout = uint64_t(s.world.ctx->config.limits.response_timeout_ms);
  s.upstreams.on_tick(s.world.ctx->now_ms(), false);
  CHECK(s.answers.failed.empty());  // not yet
  s.upstreams.on_tick(s.world.ctx->now_ms() + timeout + 1, false);
  REQUIRE(s.answers.failed.size() == 1);
  CHECK(s.answers.failed[0].status == status::ESME_RTHROTTLED);
  CHECK(s.answers.failed[0].submit->customer_sequence == 2);
  CHECK(s.world.counters().submits_temporary_error == 1);
  s.smsc->answer(0);  // the one at the operator is still answered
  REQUIRE(s.world.run_until([&] { return s.answers.answered.size() == 1; }));
  CHECK(s.answers.answered[0].submit->customer_sequence == 1);
  CHECK(s.smsc->submits.size() == 1);  // the expired one never went out
}

TEST_CASE("upstreams: the parts of a long message all go on one link, in order") {
  Stage s(link_config(2, 1));
  s.start();
  REQUIRE(s.smsc->connections() == 2);
  std::vector<proxy::SubmitPtr> parts;
  for (uint32_t n = 1; n <= 3; ++n) parts.push_back(submit(n));
  s.upstreams.dispatch_in_order(0, std::move(parts));
  REQUIRE(s.world.run_until([&] { return s.answers.answered.size() == 3; }));
  REQUIRE(s.smsc->submits.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(s.smsc->submits[i].peer == s.smsc->submits[0].peer);
    CHECK(s.smsc->submits[i].sm.short_message == "message " + std::to_string(i + 1));
  }
  CHECK(s.smsc->submits[0].sequence < s.smsc->submits[1].sequence);
  CHECK(s.smsc->submits[1].sequence < s.smsc->submits[2].sequence);
}

TEST_CASE("upstreams: a deliver_sm is acknowledged on the link that brought it; on a link that is gone, nothing is sent") {
  Stage s(link_config(1, 10));
  s.start();
  s.smsc->send_deliver(0, 900, "hello");
  REQUIRE(s.world.run_until([&] { return s.deliveries.delivered.size() == 1; }));
  proxy::LinkRef first = s.deliveries.delivered[0].from;
  CHECK(first.upstream == 0);
  CHECK(s.deliveries.delivered[0].sequence == 900);
  s.upstreams.acknowledge(first.id, 900, status::ESME_ROK);
  REQUIRE(s.world.run_until([&] { return s.smsc->has_response(Command::deliver_sm_resp, 900); }));

  s.smsc->drop(0);
  REQUIRE(s.world.run_until([&] { return s.world.counters().upstream_link_failures == 1; }));
  s.upstreams.acknowledge(first.id, 901, status::ESME_ROK);  // that link is gone
  REQUIRE(s.world.run_until([&] { return s.world.counters().upstream_connects == 2; }));
  s.smsc->send_deliver(1, 902, "again");
  REQUIRE(s.world.run_until([&] { return s.deliveries.delivered.size() == 2; }));
  proxy::LinkRef second = s.deliveries.delivered[1].from;
  CHECK(second.id != first.id);
  s.upstreams.acknowledge(second.id, 902, status::ESME_ROK);
  REQUIRE(s.world.run_until([&] { return s.smsc->has_response(Command::deliver_sm_resp, 902); }));
  CHECK_FALSE(s.smsc->has_response(Command::deliver_sm_resp, 901));
}

TEST_CASE("upstreams: a link that drops answers its submits in flight ESME_RSYSERR, and never sends them again") {
  Stage s(link_config(1, 10));
  s.start();
  s.smsc->hold_answers = true;
  s.upstreams.dispatch(submit(1));
  REQUIRE(s.world.run_until([&] { return s.smsc->submits.size() == 1; }));
  s.smsc->drop(0);
  REQUIRE(s.world.run_until([&] { return s.answers.answered.size() == 1; }));
  CHECK(s.answers.answered[0].status == status::ESME_RSYSERR);
  CHECK(s.answers.answered[0].operator_id.empty());
  REQUIRE(s.world.run_until([&] { return s.world.counters().upstream_connects == 2; }));
  s.smsc->send_deliver(1, 5, "barrier");  // the new link is up and read
  REQUIRE(s.world.run_until([&] { return s.deliveries.delivered.size() == 1; }));
  CHECK(s.smsc->submits.size() == 1);
}

TEST_CASE("upstreams: a submit the operator does not answer within response_timeout_ms is answered ESME_RSYSERR") {
  Stage s(link_config(1, 10, 200));
  s.start();
  s.smsc->hold_answers = true;
  s.upstreams.dispatch(submit(1));
  REQUIRE(s.world.run_until([&] { return s.smsc->submits.size() == 1; }));
  REQUIRE(s.world.run_until([&] { return s.answers.answered.size() == 1; }));  // on the link's tick after 200 ms
  CHECK(s.answers.answered[0].status == status::ESME_RSYSERR);
  CHECK(s.answers.answered[0].operator_id.empty());
  CHECK(s.world.counters().upstream_requests_timed_out == 1);
  s.smsc->answer(0);  // too late: not answered twice
  s.smsc->send_deliver(0, 5, "barrier");
  REQUIRE(s.world.run_until([&] { return s.deliveries.delivered.size() == 1; }));
  CHECK(s.answers.answered.size() == 1);
}

TEST_CASE("upstreams: stop unbinds the operator's links and keeps them down; its submits get the no-bound-link answer; start binds again") {
  Stage s(link_config(2, 10));
  s.start();
  REQUIRE(s.upstreams.control("stc", proxy::UpstreamControl::stop));
  REQUIRE(s.world.run_until([&] { return s.upstreams.no_links(); }));
  CHECK(s.snapshot().control == "stopped");
  CHECK_FALSE(s.world.run_until([&] { return s.smsc->binds() > 2; }, 200));  // ten times reconnect_max_ms: none came back
  s.upstreams.dispatch(submit(1));
  REQUIRE(s.answers.failed.size() == 1);
  CHECK(s.answers.failed[0].status == status::ESME_RSYSERR);
  CHECK(s.world.counters().submits_temporary_error == 1);
  CHECK_FALSE(s.upstreams.control("nosuch", proxy::UpstreamControl::stop));

  REQUIRE(s.upstreams.control("stc", proxy::UpstreamControl::start));
  REQUIRE(s.world.run_until([&] { return s.snapshot().links_bound == 2; }));
  CHECK(s.snapshot().control == "running");
  s.upstreams.dispatch(submit(2));
  REQUIRE(s.world.run_until([&] { return s.answers.answered.size() == 1; }));
  CHECK(s.answers.answered[0].status == status::ESME_ROK);
}

TEST_CASE("upstreams: drain sends nothing new, lets the submit in flight be answered, then unbinds and stays down") {
  Stage s(link_config(1, 10));
  s.start();
  s.smsc->hold_answers = true;
  s.upstreams.dispatch(submit(1));
  REQUIRE(s.world.run_until([&] { return s.smsc->submits.size() == 1; }));
  REQUIRE(s.upstreams.control("stc", proxy::UpstreamControl::drain));
  CHECK(s.snapshot().control == "draining");
  s.upstreams.dispatch(submit(2));
  REQUIRE(s.answers.failed.size() == 1);  // not sent: failed as with no bound link
  CHECK(s.answers.failed[0].submit->customer_sequence == 2);
  CHECK_FALSE(s.world.run_until([&] { return s.upstreams.no_links(); }, 100));  // still up: one in flight
  CHECK(s.smsc->submits.size() == 1);
  s.smsc->answer(0);
  REQUIRE(s.world.run_until([&] { return s.upstreams.no_links(); }));
  REQUIRE(s.answers.answered.size() == 1);
  CHECK(s.answers.answered[0].status == status::ESME_ROK);
  CHECK(s.snapshot().control == "stopped");
  CHECK_FALSE(s.world.run_until([&] { return s.smsc->binds() > 1; }, 200));
}

TEST_CASE("upstreams: for the NOC, a link reports its window in use and what its operator answered, across sessions") {
  Stage s(link_config(1, 10));
  s.start();
  CHECK(s.snapshot().links.at(0).state == "bound");
  s.smsc->hold_answers = true;
  s.upstreams.dispatch(submit(1));
  s.upstreams.dispatch(submit(2));
  REQUIRE(s.world.run_until([&] { return s.smsc->submits.size() == 2; }));
  proxy::LinkSnapshot link = s.snapshot().links.at(0);
  CHECK(link.in_flight == 2);
  CHECK(link.window == 10);
  CHECK(link.tally.sent == 2);
  s.smsc->answer(0);
  s.smsc->answer(1, status::ESME_RSUBMITFAIL);
  REQUIRE(s.world.run_until([&] { return s.answers.answered.size() == 2; }));
  link = s.snapshot().links.at(0);
  CHECK(link.in_flight == 0);
  CHECK(link.tally.accepted == 1);
  CHECK(link.tally.refused == 1);
  CHECK(link.tally.rtt.count() == 2);
  CHECK(link.rtt_p99_us.has_value());
}

TEST_CASE("upstreams: a link whose SMSC refuses connections is down, since its first failure, not its last retry") {
  Stage s(link_config(1, 10));
  TinySmsc gone(&s.world.loop);  // a port that was listening, and is not any more
  s.world.ctx->config.upstreams.at(0).address.port = gone.port();
  gone.close();
  REQUIRE(s.world.run_until([&] { return gone.closed(); }));
  CHECK(s.snapshot().links.at(0).state == "connecting");
  s.upstreams.start();
  s.started = true;
  REQUIRE(s.world.run_until([&] { return s.snapshot().links.at(0).state == "down"; }));
  const int64_t since = s.snapshot().links.at(0).since_unix_ms;
  const uint64_t failures = s.world.counters().upstream_link_failures;
  REQUIRE(s.world.run_until([&] { return s.world.counters().upstream_link_failures >= failures + 2; }));  // retried
  CHECK(s.snapshot().links.at(0).state == "down");
  CHECK(s.snapshot().links.at(0).since_unix_ms == since);
}
