// Framing: whole PDUs out of a byte stream, whatever the reads look like.
#include <catch2/catch.hpp>

#include <cstring>

#include "smpp/codec.h"
#include "smpp/framer.h"

using smpp::Framer;

namespace {
std::string enquire_link(uint32_t seq) {
  std::string out;
  smpp::encode_header_only(out, smpp::Command::enquire_link, seq);
  return out;
}
void feed(Framer& f, std::string_view bytes) {
  auto space = f.writable();
  REQUIRE(space.size >= bytes.size());
  std::memcpy(space.data, bytes.data(), bytes.size());
  f.commit(bytes.size());
}
}  // namespace

TEST_CASE("a PDU split across reads comes out once, whole") {
  Framer f(4096);
  std::string pdu = enquire_link(1);
  std::string_view out;
  uint32_t bad = 0;
  for (size_t i = 0; i + 1 < pdu.size(); ++i) {
    feed(f, pdu.substr(i, 1));
    CHECK(f.next(out, bad) == Framer::Result::need_more);  // even a partial header waits
  }
  feed(f, pdu.substr(pdu.size() - 1));
  REQUIRE(f.next(out, bad) == Framer::Result::pdu);
  CHECK(out == pdu);
  CHECK(f.next(out, bad) == Framer::Result::need_more);
}

TEST_CASE("many PDUs in one read come out one by one, in order") {
  Framer f(4096);
  std::string bytes;
  for (uint32_t seq = 1; seq <= 100; ++seq) bytes += enquire_link(seq);
  feed(f, bytes);
  std::string_view out;
  uint32_t bad = 0;
  for (uint32_t seq = 1; seq <= 100; ++seq) {
    REQUIRE(f.next(out, bad) == Framer::Result::pdu);
    CHECK(smpp::read_header(reinterpret_cast<const uint8_t*>(out.data())).sequence == seq);
  }
  CHECK(f.next(out, bad) == Framer::Result::need_more);
  CHECK(f.buffered() == 0);
}

TEST_CASE("command_length below 16 is refused: the stream cannot be resynchronised") {
  Framer f(4096);
  std::string pdu = enquire_link(1);
  smpp::store_be32(reinterpret_cast<uint8_t*>(pdu.data()), 8);
  feed(f, pdu);
  std::string_view out;
  uint32_t bad = 0;
  CHECK(f.next(out, bad) == Framer::Result::too_short);
  CHECK(bad == 8);
}

TEST_CASE("command_length above the maximum is refused before its body arrives") {
  Framer f(4096);
  std::string pdu = enquire_link(1);
  smpp::store_be32(reinterpret_cast<uint8_t*>(pdu.data()), 100000);
  feed(f, pdu);
  std::string_view out;
  uint32_t bad = 0;
  CHECK(f.next(out, bad) == Framer::Result::too_long);
  CHECK(bad == 100000);
}

TEST_CASE("a PDU of exactly the maximum length is accepted, with room to read it") {
  Framer f(256, 256);
  std::string pdu = enquire_link(1) + std::string(240, 'x');
  smpp::store_be32(reinterpret_cast<uint8_t*>(pdu.data()), 256);
  feed(f, pdu.substr(0, 100));
  std::string_view out;
  uint32_t bad = 0;
  CHECK(f.next(out, bad) == Framer::Result::need_more);
  feed(f, pdu.substr(100));
  REQUIRE(f.next(out, bad) == Framer::Result::pdu);
  CHECK(out.size() == 256);
}

TEST_CASE("the buffer compacts, so a long stream of PDUs never runs out of room") {
  Framer f(64, 128);
  std::string pdu = enquire_link(7);
  std::string_view out;
  uint32_t bad = 0;
  for (int i = 0; i < 10000; ++i) {
    feed(f, pdu.substr(0, 10));
    feed(f, pdu.substr(10));
    REQUIRE(f.next(out, bad) == Framer::Result::pdu);
  }
}

TEST_CASE("with the tail nearly used and a partial PDU left, the space offered is after compaction") {
  // A partial PDU near the end of the buffer: reporting the space before compacting would hand
  // the socket a few bytes, or none at all.
  Framer f(64, 128);
  std::string pdu = enquire_link(1) + std::string(16, 'x');
  smpp::store_be32(reinterpret_cast<uint8_t*>(pdu.data()), 32);
  feed(f, pdu + pdu + pdu + pdu.substr(0, 22));  // 118 of 128 bytes
  std::string_view out;
  uint32_t bad = 0;
  for (int i = 0; i < 3; ++i) REQUIRE(f.next(out, bad) == Framer::Result::pdu);
  CHECK(f.writable().size == 128 - 22);
  feed(f, pdu.substr(22));
  REQUIRE(f.next(out, bad) == Framer::Result::pdu);
  CHECK(out == pdu);
}
