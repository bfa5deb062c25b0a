// smpp/session: the link hygiene both sides share, without I/O: enquire_link, unbind, generic_nack,
// keepalive and its answer clock, sequence numbers. What it writes is decoded and checked here.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "smpp/codec.h"
#include "smpp/protocol.h"
#include "smpp/session.h"

namespace {

using smpp::Command;
using Event = smpp::Session::Event;
namespace status = smpp::status;

constexpr smpp::Session::Timing kTiming{1000, 500};  // ask after 1 s of silence; 0.5 s to answer

smpp::Header request(uint32_t command_id, uint32_t sequence) { return smpp::Header{16, command_id, 0, sequence}; }
smpp::Header request(Command c, uint32_t sequence) { return request(uint32_t(c), sequence); }

// The headers of the PDUs written to `out`, split by command_length.
std::vector<smpp::Header> written(const std::string& out) {
  std::vector<smpp::Header> headers;
  size_t at = 0;
  while (at + smpp::kHeaderSize <= out.size()) {
    smpp::Header h = smpp::read_header(reinterpret_cast<const uint8_t*>(out.data() + at));
    REQUIRE(h.length >= smpp::kHeaderSize);
    REQUIRE(at + h.length <= out.size());
    headers.push_back(h);
    at += h.length;
  }
  REQUIRE(at == out.size());
  return headers;
}

// A link that sent its enquire_link at 1001 ms (silent since 0).
struct Waiting {
  smpp::Session link{kTiming};
  std::string out;
  Waiting() {
    REQUIRE(link.keepalive(1001, 0, true, out));
    REQUIRE(written(out).size() == 1);
    out.clear();
  }
};

}  // namespace

TEST_CASE("smpp session: enquire_link is answered with enquire_link_resp carrying the same sequence") {
  smpp::Session link(kTiming);
  std::string out;
  CHECK(link.on_pdu(request(Command::enquire_link, 77), out) == Event::none);
  auto pdus = written(out);
  REQUIRE(pdus.size() == 1);
  CHECK(pdus[0].command_id == uint32_t(Command::enquire_link_resp));
  CHECK(pdus[0].status == status::ESME_ROK);
  CHECK(pdus[0].sequence == 77);
  CHECK(pdus[0].length == 16);
}

TEST_CASE("smpp session: a request nobody handles is answered generic_nack ESME_RINVCMDID with its sequence") {
  uint32_t id = GENERATE(uint32_t(Command::query_sm), uint32_t(Command::replace_sm), uint32_t(Command::cancel_sm),
                         uint32_t(Command::submit_multi), uint32_t(Command::data_sm), 0x00000099u, 0x7FFFFFFFu);
  CAPTURE(id);
  smpp::Session link(kTiming);
  std::string out;
  CHECK(link.on_pdu(request(id, 4242), out) == Event::nacked);
  auto pdus = written(out);
  REQUIRE(pdus.size() == 1);
  CHECK(pdus[0].command_id == uint32_t(Command::generic_nack));
  CHECK(pdus[0].status == status::ESME_RINVCMDID);
  CHECK(pdus[0].sequence == 4242);
}

TEST_CASE("smpp session: a response to nothing we asked is ignored: no answer, and never a nack of a nack") {
  uint32_t id = GENERATE(uint32_t(Command::submit_sm_resp), uint32_t(Command::deliver_sm_resp),
                         uint32_t(Command::generic_nack), uint32_t(Command::bind_transceiver_resp), 0x80000099u);
  CAPTURE(id);
  smpp::Session link(kTiming);
  std::string out;
  CHECK(link.on_pdu(request(id, 9), out) == Event::none);
  CHECK(out.empty());
}

TEST_CASE("smpp session: the peer's unbind is answered with unbind_resp and reported as peer_unbound") {
  smpp::Session link(kTiming);
  std::string out;
  CHECK(link.on_pdu(request(Command::unbind, 31), out) == Event::peer_unbound);
  auto pdus = written(out);
  REQUIRE(pdus.size() == 1);
  CHECK(pdus[0].command_id == uint32_t(Command::unbind_resp));
  CHECK(pdus[0].status == status::ESME_ROK);
  CHECK(pdus[0].sequence == 31);
}

TEST_CASE("smpp session: unbind_resp is reported as the answer to our unbind, and answered with nothing") {
  smpp::Session link(kTiming);
  std::string out;
  CHECK(link.on_pdu(request(Command::unbind_resp, 5), out) == Event::unbind_answered);
  CHECK(out.empty());
}

TEST_CASE("smpp session: our unbind is a request with the link's next sequence number") {
  smpp::Session link(kTiming);
  std::string out;
  CHECK(link.next_sequence() == 1);
  link.unbind(out);
  auto pdus = written(out);
  REQUIRE(pdus.size() == 1);
  CHECK(pdus[0].command_id == uint32_t(Command::unbind));
  CHECK(pdus[0].sequence == 2);
}

TEST_CASE("smpp session: keepalive sends enquire_link only after idle_ms of silence, and one at a time") {
  smpp::Session link(kTiming);
  std::string out;
  CHECK(link.keepalive(500, 0, true, out));
  CHECK(link.keepalive(1000, 0, true, out));  // exactly idle_ms: not yet
  CHECK(out.empty());
  CHECK(link.keepalive(1001, 0, true, out));
  auto pdus = written(out);
  REQUIRE(pdus.size() == 1);
  CHECK(pdus[0].command_id == uint32_t(Command::enquire_link));
  CHECK(pdus[0].sequence == 1);
  out.clear();
  CHECK(link.keepalive(1200, 0, true, out));  // one is waiting for its answer: no second
  CHECK(out.empty());
}

TEST_CASE("smpp session: anything heard from the peer restarts the silence: no enquire_link on a busy link") {
  smpp::Session link(kTiming);
  std::string out;
  CHECK(link.keepalive(5000, 4500, true, out));
  CHECK(link.keepalive(9000, 8001, true, out));
  CHECK(out.empty());
}

TEST_CASE("smpp session: an enquire_link unanswered for more than answer_ms ends the link") {
  Waiting w;
  CHECK(w.link.keepalive(1501, 0, true, w.out));  // exactly answer_ms: still in time
  CHECK_FALSE(w.link.keepalive(1502, 0, true, w.out));
}

TEST_CASE("smpp session: an answered enquire_link keeps the link, and the next one waits for new silence") {
  Waiting w;
  CHECK(w.link.on_pdu(request(Command::enquire_link_resp, 1), w.out) == Event::none);
  CHECK(w.out.empty());
  CHECK(w.link.keepalive(5000, 4800, true, w.out));  // long past answer_ms, but answered
  CHECK(w.out.empty());
  CHECK(w.link.keepalive(5801, 4800, true, w.out));  // silent for idle_ms again: ask again
  auto pdus = written(w.out);
  REQUIRE(pdus.size() == 1);
  CHECK(pdus[0].command_id == uint32_t(Command::enquire_link));
  CHECK(pdus[0].sequence == 2);
}

TEST_CASE("smpp session: while the socket is not read the answer clock waits: a full answer_ms once reading resumes") {
  Waiting w;
  // Backpressure from 1001 to 3000: the answer may sit unread in the socket.
  CHECK(w.link.keepalive(2000, 0, false, w.out));
  CHECK(w.link.keepalive(3000, 0, false, w.out));
  CHECK(w.link.keepalive(3500, 0, true, w.out));  // reading again since 3000: 500 ms to answer
  CHECK_FALSE(w.link.keepalive(3501, 0, true, w.out));
  CHECK(w.out.empty());
}

TEST_CASE("smpp session: while the socket is not read no enquire_link is sent, however long the silence") {
  smpp::Session link(kTiming);
  std::string out;
  CHECK(link.keepalive(100000, 0, false, out));
  CHECK(out.empty());
  CHECK(link.next_sequence() == 1);  // none was used up either
}

TEST_CASE("smpp session: sequence numbers start at 1 and rise by one across every request the link makes") {
  smpp::Session link(kTiming);
  std::string out;
  CHECK(link.next_sequence() == 1);
  CHECK(link.next_sequence() == 2);
  REQUIRE(link.keepalive(2000, 0, true, out));  // enquire_link: 3
  link.unbind(out);                             // unbind: 4
  auto pdus = written(out);
  REQUIRE(pdus.size() == 2);
  CHECK(pdus[0].sequence == 3);
  CHECK(pdus[1].sequence == 4);
  CHECK(link.next_sequence() == 5);
}

TEST_CASE("smpp session: sequence numbers wrap from 0x7FFFFFFF to 1: never 0, never above 0x7FFFFFFF") {
  uint32_t counter = 0x7FFFFFFE;
  CHECK(smpp::next_sequence(counter) == 0x7FFFFFFFu);
  CHECK(smpp::next_sequence(counter) == 1);
  counter = 0xFFFFFFFF;  // a corrupted counter still lands in range
  CHECK(smpp::next_sequence(counter) == 1);
  counter = 0;
  CHECK(smpp::next_sequence(counter) == 1);
}
