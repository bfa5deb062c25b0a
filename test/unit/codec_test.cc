// Round trips of every PDU the proxy sends or accepts, and malformed bodies refused.
#include <catch2/catch.hpp>

#include "smpp/codec.h"
#include "smpp/pdu_edit.h"
#include "smpp/pdu_view.h"

using namespace smpp;

namespace {
std::string header_only(Command c, uint32_t seq) {
  std::string out;
  encode_header_only(out, c, seq);
  return out;
}
ShortMessage sample_message() {
  ShortMessage sm;
  sm.service_type = "CMT";
  sm.source_addr_ton = 5;
  sm.source_addr = "ACME";
  sm.dest_addr_ton = 1;
  sm.dest_addr_npi = 1;
  sm.destination_addr = "966501234567";
  sm.esm_class = 0x04;
  sm.registered_delivery = 1;
  sm.data_coding = 8;
  sm.short_message = std::string("\x06\x45\x06\x31", 4);
  sm.tlvs.push_back(Tlv{tag::receipted_message_id, std::string("abc\0", 4)});
  sm.tlvs.push_back(Tlv{tag::message_state, std::string(1, '\x02')});
  return sm;
}
}  // namespace

TEST_CASE("submit_sm and deliver_sm survive encode then decode, TLVs included") {
  for (Command kind : {Command::submit_sm, Command::deliver_sm}) {
    ShortMessage sm = sample_message(), back;
    std::string pdu;
    encode_short_message(pdu, kind, 42, sm);
    Header h = read_header(reinterpret_cast<const uint8_t*>(pdu.data()));
    CHECK(h.length == pdu.size());
    CHECK(h.command_id == uint32_t(kind));
    CHECK(h.sequence == 42);
    DecodeError error;
    REQUIRE(decode_short_message(pdu, back, error));
    CHECK(back.service_type == "CMT");
    CHECK(back.source_addr == "ACME");
    CHECK(back.source_addr_ton == 5);
    CHECK(back.destination_addr == "966501234567");
    CHECK(back.esm_class == 0x04);
    CHECK(back.registered_delivery == 1);
    CHECK(back.data_coding == 8);
    CHECK(back.short_message == sm.short_message);
    REQUIRE(back.tlvs.size() == 2);
    CHECK(back.find(tag::receipted_message_id)->value == std::string("abc\0", 4));
    CHECK(back.find(tag::message_state)->value == std::string(1, '\x02'));
  }
}

TEST_CASE("bind requests and responses survive encode then decode") {
  Bind bind;
  bind.kind = Command::bind_transmitter;
  bind.system_id = "acme";
  bind.password = "secret";
  bind.system_type = "SMPP";
  std::string pdu;
  encode_bind(pdu, 7, bind);
  Bind back;
  DecodeError error;
  REQUIRE(decode_bind(pdu, back, error));
  CHECK(back.kind == Command::bind_transmitter);
  CHECK(back.system_id == "acme");
  CHECK(back.password == "secret");
  CHECK(back.system_type == "SMPP");
  CHECK(back.interface_version == 0x34);

  std::string resp;
  encode_bind_resp(resp, Command::bind_transceiver, 7, status::ESME_ROK, {"hajib", uint8_t(0x34)});
  CHECK(read_header(reinterpret_cast<const uint8_t*>(resp.data())).command_id == uint32_t(Command::bind_transceiver_resp));
  BindResp r;
  REQUIRE(decode_bind_resp(resp, r, error));
  CHECK(r.system_id == "hajib");
  CHECK(r.sc_interface_version == uint8_t(0x34));
}

TEST_CASE("a bind announcing interface version 5.0 decodes, and the version is reported as announced") {
  Bind bind;
  bind.interface_version = 0x50;
  std::string pdu;
  bind.interface_version = 0x34;
  encode_bind(pdu, 1, bind);
  pdu[16 + 1 + 1 + 1] = 0x50;  // empty system_id, password, system_type, then the version
  Bind back;
  DecodeError error;
  REQUIRE(decode_bind(pdu, back, error));
  CHECK(back.interface_version == 0x50);
}

TEST_CASE("an over-long password or system_id is answered as wrong, not as a broken PDU") {
  std::string pdu(16, '\0');
  pdu += "acme";
  pdu += '\0';
  pdu += "much-too-long";
  pdu += '\0';
  pdu += std::string("\0\x34\0\0\0", 5);
  store_be32(reinterpret_cast<uint8_t*>(pdu.data()), uint32_t(pdu.size()));
  store_be32(reinterpret_cast<uint8_t*>(pdu.data()) + 4, uint32_t(Command::bind_transceiver));
  Bind b;
  DecodeError error;
  CHECK_FALSE(decode_bind(pdu, b, error));
  CHECK(error.status == status::ESME_RINVPASWD);
}

TEST_CASE("submit_sm_resp and deliver_sm_resp: message id on success, no body on error") {
  std::string ok, err;
  encode_message_id_resp(ok, Command::submit_sm_resp, 9, status::ESME_ROK, "00000a0000000001");
  encode_message_id_resp(err, Command::submit_sm_resp, 9, status::ESME_RTHROTTLED, "");
  CHECK(ok.size() == 16 + 17);
  CHECK(err.size() == 16);
  std::string id;
  DecodeError error;
  REQUIRE(decode_message_id_resp(ok, id, error));
  CHECK(id == "00000a0000000001");
  REQUIRE(decode_message_id_resp(err, id, error));
  CHECK(id.empty());
  std::string dresp;
  encode_message_id_resp(dresp, Command::deliver_sm_resp, 3, status::ESME_ROK, "");
  CHECK(dresp.size() == 17);
}

TEST_CASE("header-only PDUs: enquire_link, unbind and generic_nack") {
  for (Command c : {Command::enquire_link, Command::enquire_link_resp, Command::unbind, Command::unbind_resp}) {
    std::string pdu = header_only(c, 5);
    Header h = read_header(reinterpret_cast<const uint8_t*>(pdu.data()));
    CHECK(h.length == 16);
    CHECK(h.command_id == uint32_t(c));
    CHECK(h.sequence == 5);
  }
  std::string nack;
  encode_header_only(nack, Command::generic_nack, 8, status::ESME_RINVCMDID);
  CHECK(read_header(reinterpret_cast<const uint8_t*>(nack.data())).status == status::ESME_RINVCMDID);
}

TEST_CASE("malformed bodies are refused, never read past") {
  ShortMessage sm = sample_message(), back;
  std::string pdu;
  encode_short_message(pdu, Command::submit_sm, 1, sm);
  DecodeError error;
  SECTION("every truncation of a submit_sm") {
    // Cut at a TLV boundary the PDU is whole, just with fewer TLVs.
    size_t tlvs_start = pdu.size() - 8 - 5, second_tlv = tlvs_start + 8;
    for (size_t len = 16; len < pdu.size(); ++len) {
      if (len == tlvs_start || len == second_tlv) continue;
      std::string cut = pdu.substr(0, len);
      store_be32(reinterpret_cast<uint8_t*>(cut.data()), uint32_t(len));
      INFO("length " << len);
      CHECK_FALSE(decode_short_message(cut, back, error));
    }
  }
  SECTION("a C-string without its NUL") {
    std::string bad = pdu.substr(0, 16) + std::string(40, 'A');
    store_be32(reinterpret_cast<uint8_t*>(bad.data()), uint32_t(bad.size()));
    CHECK_FALSE(decode_short_message(bad, back, error));
  }
  SECTION("a TLV longer than the PDU") {
    std::string bad = pdu;
    bad[bad.size() - 2] = 0x7F;  // message_state's length, now beyond the end
    CHECK_FALSE(decode_short_message(bad, back, error));
  }
}

TEST_CASE("rewrite_destination keeps every other byte of the customer's submit_sm") {
  ShortMessage sm = sample_message();
  sm.dest_addr_ton = 0;
  sm.dest_addr_npi = 0;
  sm.destination_addr = "0501234567";
  std::string pdu, out;
  encode_short_message(pdu, Command::submit_sm, 3, sm);
  ShortMessageView view;
  DecodeError read_error;
  REQUIRE(read_short_message(pdu, view, read_error));
  REQUIRE(rewrite_destination(pdu, view, 1, 1, "966501234567", out));
  std::string other;
  CHECK_FALSE(rewrite_destination(out, view, 1, 1, "966501234567", other));  // a view of other bytes
  ShortMessage back;
  DecodeError error;
  REQUIRE(decode_short_message(out, back, error));
  CHECK(back.destination_addr == "966501234567");
  CHECK(back.dest_addr_ton == 1);
  CHECK(back.dest_addr_npi == 1);
  CHECK(back.short_message == sm.short_message);
  CHECK(back.tlvs.size() == 2);
  CHECK(read_header(reinterpret_cast<const uint8_t*>(out.data())).length == out.size());
}

TEST_CASE("a response echoes any sequence number the peer sent, 0 and above 0x7FFFFFFF included") {
  for (uint32_t sequence : {0u, 1u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu}) {
    std::string resp;
    encode_bind_resp(resp, Command::bind_transceiver, sequence, status::ESME_RINVPASWD, {"hajib", std::nullopt});
    CHECK(read_header(reinterpret_cast<const uint8_t*>(resp.data())).sequence == sequence);
  }
}
