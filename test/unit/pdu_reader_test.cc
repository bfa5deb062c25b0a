// The zero-copy reader and the direct writers of smpp/pdu_view.h, rule by rule, each held to the
// libsmpp34 oracle they replace (smpp/oracle.h).
#include <catch2/catch.hpp>

#include <array>
#include <random>

#include "heap_count.h"
#include "smpp/oracle.h"
#include "smpp/pdu_view.h"

using namespace smpp;

namespace {

// A submit_sm or deliver_sm put together octet by octet, apart from the writer under test.
struct Raw {
  Command command = Command::submit_sm;
  uint32_t status = 0;
  uint32_t sequence = 7;
  std::string service_type = "CMT";
  uint8_t source_addr_ton = 5, source_addr_npi = 0;
  std::string source_addr = "ACME";
  uint8_t dest_addr_ton = 1, dest_addr_npi = 1;
  std::string destination_addr = "966501234567";
  uint8_t esm_class = 0, protocol_id = 0, priority_flag = 0;
  std::string schedule_delivery_time, validity_period;
  uint8_t registered_delivery = 1, replace_if_present_flag = 0, data_coding = 8, sm_default_msg_id = 0;
  std::string short_message = "hello";
  int sm_length = -1;  // -1: short_message's own size
  std::string optional_part;

  std::string bytes() const {
    std::string b(kHeaderSize, '\0');
    auto cstr = [&](const std::string& s) { b += s, b += '\0'; };
    auto u8 = [&](uint8_t v) { b += char(v); };
    cstr(service_type);
    u8(source_addr_ton), u8(source_addr_npi), cstr(source_addr);
    u8(dest_addr_ton), u8(dest_addr_npi), cstr(destination_addr);
    u8(esm_class), u8(protocol_id), u8(priority_flag);
    cstr(schedule_delivery_time), cstr(validity_period);
    u8(registered_delivery), u8(replace_if_present_flag), u8(data_coding), u8(sm_default_msg_id);
    u8(uint8_t(sm_length < 0 ? short_message.size() : size_t(sm_length)));
    b += short_message;
    b += optional_part;
    write_header(reinterpret_cast<uint8_t*>(b.data()), Header{uint32_t(b.size()), uint32_t(command), status, sequence});
    return b;
  }
};

std::string tlv(uint16_t tag, std::string_view value) {
  std::string t(4, '\0');
  store_be16(reinterpret_cast<uint8_t*>(t.data()), tag);
  store_be16(reinterpret_cast<uint8_t*>(t.data()) + 2, uint16_t(value.size()));
  return t.append(value);
}

std::string message_id_resp(Command command, uint32_t status, std::string_view body) {
  std::string b(kHeaderSize, '\0');
  b += body;
  write_header(reinterpret_cast<uint8_t*>(b.data()), Header{uint32_t(b.size()), uint32_t(command), status, 3});
  return b;
}

bool same(const ShortMessage& a, const ShortMessage& b) {
  if (a.tlvs.size() != b.tlvs.size()) return false;
  for (size_t i = 0; i < a.tlvs.size(); ++i)
    if (a.tlvs[i].tag != b.tlvs[i].tag || a.tlvs[i].value != b.tlvs[i].value) return false;
  return true
#define SHORT_MESSAGE_FIELD(name, kind, max_with_nul, max_with_nul_in_deliver_sm) &&a.name == b.name
#include "smpp/pdu.def"
      ;
}

// Reads `pdu` with the reader and the oracle, checks that they agree, and returns the reader's
// verdict (with its status in `status`).
bool read_as_oracle(std::string_view pdu, uint32_t* status = nullptr) {
  ShortMessageView view;
  ShortMessage old;
  DecodeError ours, theirs;
  bool ok = read_short_message(pdu, view, ours);
  bool old_ok = oracle::decode_short_message(pdu, old, theirs);
  INFO("reader: " << (ok ? "ok" : ours.reason) << "; oracle: " << (old_ok ? "ok" : theirs.reason));
  CHECK(ok == old_ok);
  if (ok && old_ok) CHECK(same(to_owned(view), old));
  if (!ok && !old_ok) CHECK(ours.status == theirs.status);
  if (status) *status = ok ? status::ESME_ROK : ours.status;
  return ok;
}

uint32_t status_of(const Raw& raw) {
  uint32_t st = 0;
  read_as_oracle(raw.bytes(), &st);
  return st;
}

// The view lives as long as `pdu`: a temporary would leave it dangling.
ShortMessageView read_ok(std::string&& pdu) = delete;
ShortMessageView read_ok(const std::string& pdu) {
  ShortMessageView view;
  DecodeError error;
  INFO(error.reason);
  REQUIRE(read_short_message(pdu, view, error));
  return view;
}

}  // namespace

TEST_CASE("reader: every field of a submit_sm, viewed in place") {
  Raw raw;
  raw.service_type = "WAP";
  raw.esm_class = 0x40;
  raw.protocol_id = 0x7F;
  raw.priority_flag = 2;
  raw.schedule_delivery_time = "261130120000000+";
  raw.validity_period = "000001000000000R";
  raw.replace_if_present_flag = 1;
  raw.sm_default_msg_id = 9;
  raw.short_message = std::string("\x05\x00\x03\x2a\x02\x01hi\0", 9);
  raw.optional_part = tlv(0x0204, "\x12\x34");
  std::string pdu = raw.bytes();
  ShortMessageView v = read_ok(pdu);
  CHECK(v.service_type == "WAP");
  CHECK(v.source_addr_ton == 5);
  CHECK(v.source_addr_npi == 0);
  CHECK(v.source_addr == "ACME");
  CHECK(v.dest_addr_ton == 1);
  CHECK(v.dest_addr_npi == 1);
  CHECK(v.destination_addr == "966501234567");
  CHECK(v.esm_class == 0x40);
  CHECK(v.protocol_id == 0x7F);
  CHECK(v.priority_flag == 2);
  CHECK(v.schedule_delivery_time == "261130120000000+");
  CHECK(v.validity_period == "000001000000000R");
  CHECK(v.registered_delivery == 1);
  CHECK(v.replace_if_present_flag == 1);
  CHECK(v.data_coding == 8);
  CHECK(v.sm_default_msg_id == 9);
  CHECK(v.short_message == raw.short_message);
  CHECK(v.optional_part == raw.optional_part);
  // Zero-copy: the views point into the PDU itself.
  CHECK(v.source_addr.data() == pdu.data() + kHeaderSize + 4 + 2);
  CHECK(v.optional_part.data() == pdu.data() + pdu.size() - raw.optional_part.size());
  read_as_oracle(pdu);
}

TEST_CASE("reader: each C-string field at its maximum is read, one octet more is ESME_RINVCMDLEN") {
  struct Case {
    const char* name;
    std::string Raw::*field;
    size_t max_chars;
  };
  for (const Case& c : {Case{"service_type", &Raw::service_type, 5}, Case{"source_addr", &Raw::source_addr, 20},
                        Case{"destination_addr", &Raw::destination_addr, 20},
                        Case{"schedule_delivery_time", &Raw::schedule_delivery_time, 16},
                        Case{"validity_period", &Raw::validity_period, 16}}) {
    INFO(c.name);
    Raw raw;
    raw.*c.field = std::string(c.max_chars, '7');
    CHECK(status_of(raw) == status::ESME_ROK);
    raw.*c.field = std::string(c.max_chars + 1, '7');
    CHECK(status_of(raw) == status::ESME_RINVCMDLEN);
  }
}

TEST_CASE("reader: short_message of 254 octets is read, 255 is ESME_RINVMSGLEN") {
  Raw raw;
  raw.short_message = std::string(254, 'x');
  CHECK(status_of(raw) == status::ESME_ROK);
  std::string pdu = raw.bytes();
  CHECK(read_ok(pdu).short_message.size() == 254);
  raw.short_message = std::string(255, 'x');
  CHECK(status_of(raw) == status::ESME_RINVMSGLEN);
  // ESME_RINVMSGLEN comes before what libsmpp34 refused in a body that scans (an unknown TON)...
  raw.source_addr_ton = 9;
  CHECK(status_of(raw) == status::ESME_RINVMSGLEN);
  // ...but after a body that does not scan.
  raw.source_addr = std::string(25, '1');
  CHECK(status_of(raw) == status::ESME_RINVCMDLEN);
}

TEST_CASE("reader: sm_length beyond the body is ESME_RINVCMDLEN") {
  Raw raw;
  raw.sm_length = int(raw.short_message.size()) + 1;
  CHECK(status_of(raw) == status::ESME_RINVCMDLEN);
  raw.sm_length = 255;  // beyond the body and above 254: the scan decides first
  CHECK(status_of(raw) == status::ESME_RINVCMDLEN);
}

TEST_CASE("reader: every truncation of a submit_sm is refused, at a TLV boundary it is whole") {
  Raw raw;
  raw.optional_part = tlv(tag::message_state, "\x02") + tlv(tag::receipted_message_id, std::string("ab\0", 3));
  std::string pdu = raw.bytes();
  size_t first_tlv = pdu.size() - raw.optional_part.size(), second_tlv = first_tlv + 5;
  for (size_t len = kHeaderSize; len < pdu.size(); ++len) {
    std::string cut = pdu.substr(0, len);
    store_be32(reinterpret_cast<uint8_t*>(cut.data()), uint32_t(len));
    INFO("length " << len);
    CHECK(read_as_oracle(cut) == (len == first_tlv || len == second_tlv));
  }
}

TEST_CASE("reader: a truncated TLV header is ESME_RINVOPTPARSTREAM") {
  for (size_t octets = 1; octets < 4; ++octets) {
    Raw raw;
    raw.optional_part = tlv(tag::message_state, "\x02") + std::string("\x04\x27\x00", octets);
    CHECK(status_of(raw) == status::ESME_RINVOPTPARSTREAM);
  }
}

TEST_CASE("reader: a TLV length beyond the PDU is ESME_RINVPARLEN") {
  Raw raw;
  raw.optional_part = tlv(tag::message_state, "\x02");
  raw.optional_part[3] = 2;
  CHECK(status_of(raw) == status::ESME_RINVPARLEN);
  raw.optional_part = std::string("\x04\x24\xFF\xFF", 4) + std::string(100, 'a');
  CHECK(status_of(raw) == status::ESME_RINVPARLEN);
}

TEST_CASE("reader: an empty optional part, and find() of a missing tag") {
  Raw raw;
  std::string plain = raw.bytes();
  ShortMessageView v = read_ok(plain);
  CHECK(v.optional_part.empty());
  CHECK_FALSE(v.find(tag::message_state));
  raw.optional_part = tlv(tag::message_state, "\x02") + tlv(0x1401, "") + tlv(tag::message_state, "\x05");
  std::string pdu = raw.bytes();
  v = read_ok(pdu);
  CHECK_FALSE(v.find(tag::receipted_message_id));
  REQUIRE(v.find(tag::message_state));
  CHECK(*v.find(tag::message_state) == "\x02");  // the first of two, as ShortMessage::find
  REQUIRE(v.find(0x1401));
  CHECK(v.find(0x1401)->empty());
  CHECK(to_owned(v).tlvs.size() == 3);
}

TEST_CASE("reader: deliver_sm receipts are told by esm_class bits 2-5") {
  Raw raw;
  raw.command = Command::deliver_sm;
  for (auto [esm_class, receipt] : {std::pair{0x04, true}, {0x44, true}, {0x00, false}, {0x08, false}, {0x24, false}}) {
    raw.esm_class = uint8_t(esm_class);
    std::string pdu = raw.bytes();
    ShortMessageView v = read_ok(pdu);
    CHECK(v.is_delivery_receipt() == receipt);
    CHECK(to_owned(v).is_delivery_receipt() == receipt);
  }
}

TEST_CASE("reader: deliver_sm carries no times (libsmpp34's limit, kept)") {
  Raw raw;
  raw.command = Command::deliver_sm;
  CHECK(status_of(raw) == status::ESME_ROK);
  raw.validity_period = "1";
  CHECK(status_of(raw) == status::ESME_RINVCMDLEN);
  raw.validity_period = "";
  raw.schedule_delivery_time = "261130120000000+";
  CHECK(status_of(raw) == status::ESME_RINVCMDLEN);
  raw.schedule_delivery_time = std::string(17, '0');  // over 17 with its NUL: the scan's refusal
  CHECK(status_of(raw) == status::ESME_RINVCMDLEN);
}

TEST_CASE("reader: every TON and NPI, status and a sequence of 0 answered as libsmpp34 did") {
  size_t refused = 0;
  for (int v = 0; v < 256; ++v) {
    INFO("value " << v);
    for (uint8_t Raw::*field : {&Raw::source_addr_ton, &Raw::source_addr_npi, &Raw::dest_addr_ton, &Raw::dest_addr_npi}) {
      Raw raw;
      raw.*field = uint8_t(v);
      refused += status_of(raw) != status::ESME_ROK;
    }
  }
  CHECK(refused == 4 * 256 - 2 * 7 - 2 * 10);  // libsmpp34 knows 7 TONs and 10 NPIs
  size_t accepted = 0;
  for (uint32_t st = 0; st < 0x200; ++st) {
    Raw raw;
    raw.status = st;
    INFO("status " << st);
    accepted += read_as_oracle(raw.bytes());
  }
  CHECK(accepted == 48);  // the statuses libsmpp34 names
  for (uint32_t st : {0x80000000u, 0xFFFFFFFFu}) {
    Raw raw;
    raw.status = st;
    CHECK(status_of(raw) == status::ESME_RINVCMDLEN);
  }
  Raw raw;
  raw.sequence = 0;
  CHECK(status_of(raw) == status::ESME_RINVCMDLEN);
  raw.sequence = 0xFFFFFFFF;
  CHECK(status_of(raw) == status::ESME_ROK);
}

TEST_CASE("reader: not a submit_sm or deliver_sm is ESME_RINVCMDID") {
  Raw raw;
  raw.command = Command::data_sm;
  CHECK(status_of(raw) == status::ESME_RINVCMDID);
  CHECK(read_as_oracle(std::string(15, '\0')) == false);
}

TEST_CASE("reader: submit_sm_resp with an error status and no body; message_id limits") {
  std::string_view id = "unset";
  DecodeError error;
  REQUIRE(read_message_id_resp(message_id_resp(Command::submit_sm_resp, status::ESME_RTHROTTLED, ""), id, error));
  CHECK(id.empty());
  std::string pdu = message_id_resp(Command::submit_sm_resp, 0, std::string(64, 'f') + '\0');
  REQUIRE(read_message_id_resp(pdu, id, error));
  CHECK(id == std::string(64, 'f'));
  CHECK(id.data() == pdu.data() + kHeaderSize);
  // data_sm_resp's TLVs after the message_id are not read (as before).
  pdu = message_id_resp(Command::data_sm_resp, 0, std::string("ab\0\x04", 4));
  REQUIRE(read_message_id_resp(pdu, id, error));
  CHECK(id == "ab");
  struct Refused {
    Command command;
    std::string body;
    uint32_t status;
  };
  for (const Refused& r : {Refused{Command::submit_sm_resp, std::string(65, 'f') + '\0', status::ESME_RINVCMDLEN},
                           Refused{Command::deliver_sm_resp, "abc", status::ESME_RINVCMDLEN},
                           Refused{Command::submit_sm, std::string(1, '\0'), status::ESME_RINVCMDID}}) {
    pdu = message_id_resp(r.command, 0, r.body);
    std::string old = "unset";
    DecodeError theirs;
    CHECK_FALSE(read_message_id_resp(pdu, id, error));
    CHECK(error.status == r.status);
    CHECK(id.empty());
    CHECK_FALSE(oracle::decode_message_id_resp(pdu, old, theirs));
    CHECK(theirs.status == r.status);
  }
}

TEST_CASE("reader: no heap allocation on success") {
  Raw raw;
  raw.short_message = std::string(138, 'a');
  raw.optional_part = tlv(tag::message_state, "\x02") + tlv(tag::receipted_message_id, std::string("ab\0", 3));
  std::string pdu = raw.bytes(), resp = message_id_resp(Command::submit_sm_resp, 0, std::string("00ff\0", 5));
  ShortMessageView v;
  std::string_view id;
  DecodeError error;
  size_t before = heap_count::allocations();
  bool ok = read_short_message(pdu, v, error) && v.find(tag::receipted_message_id) &&
            read_message_id_resp(resp, id, error);
  size_t after = heap_count::allocations();
  CHECK(ok);
  CHECK(after == before);
  ShortMessage copy = to_owned(v);  // and the counter does count
  CHECK(heap_count::allocations() > after);
  CHECK(copy.short_message.size() == 138);
  // Decoding into a ShortMessage already grown allocates nothing either.
  ShortMessage owned;
  REQUIRE(decode_short_message(pdu, owned, error));
  before = heap_count::allocations();
  REQUIRE(decode_short_message(pdu, owned, error));
  CHECK(heap_count::allocations() == before);
}

TEST_CASE("reader: random damage to valid PDUs is answered as the oracle answers it") {
  std::mt19937 rng(20261130);
  Raw submit, deliver;
  submit.optional_part = tlv(tag::message_payload, "payload") + tlv(0x0204, "\x01\x02");
  deliver.command = Command::deliver_sm;
  deliver.esm_class = 0x04;
  deliver.short_message = "id:123 sub:001 dlvrd:001 submit date:2611301200 done date:2611301201 stat:DELIVRD";
  deliver.optional_part = tlv(tag::receipted_message_id, std::string("123\0", 4)) + tlv(tag::message_state, "\x02");
  size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string pdu = (i % 2 ? submit : deliver).bytes();
    for (int edits = 1 + int(rng() % 4); edits > 0; --edits) {
      size_t at = kHeaderSize + rng() % (pdu.size() - kHeaderSize);
      switch (rng() % 4) {
        case 0: pdu[at] = char(rng()); break;
        case 1: pdu[at] = 0; break;
        case 2: pdu.erase(at, 1 + rng() % 3); break;
        default: pdu.insert(at, 1 + rng() % 3, char(rng() % 2 ? 0 : rng())); break;
      }
      if (pdu.size() <= kHeaderSize) pdu.resize(kHeaderSize + 1);
    }
    accepted += read_as_oracle(pdu);
  }
  CHECK(accepted > 1000);  // both verdicts are exercised
}

TEST_CASE("writer: byte for byte what libsmpp34 packed, for random messages") {
  std::mt19937 rng(4242);
  auto text = [&](size_t max) {
    std::string s(rng() % (max + 1), '\0');
    for (char& c : s) c = rng() % 8 ? char('0' + rng() % 75) : char(rng());  // NULs now and then
    return s;
  };
  constexpr uint8_t kTons[] = {0, 1, 2, 3, 4, 5, 6}, kNpis[] = {0, 1, 3, 4, 6, 8, 9, 10, 14, 18};
  size_t compared = 0;
  for (int i = 0; i < 5000; ++i) {
    ShortMessage sm;
    sm.service_type = text(8);
    sm.source_addr_ton = kTons[rng() % 7];
    sm.source_addr_npi = kNpis[rng() % 10];
    sm.source_addr = text(24);
    sm.dest_addr_ton = kTons[rng() % 7];
    sm.dest_addr_npi = kNpis[rng() % 10];
    sm.destination_addr = text(24);
    sm.esm_class = uint8_t(rng()), sm.protocol_id = uint8_t(rng()), sm.priority_flag = uint8_t(rng());
    sm.schedule_delivery_time = text(20);
    sm.validity_period = text(20);
    sm.registered_delivery = uint8_t(rng()), sm.replace_if_present_flag = uint8_t(rng());
    sm.data_coding = uint8_t(rng()), sm.sm_default_msg_id = uint8_t(rng());
    sm.short_message = text(253);
    for (int t = int(rng() % 3); t > 0; --t) sm.tlvs.push_back(Tlv{uint16_t(rng()), text(10)});
    Command kind = i % 2 ? Command::submit_sm : Command::deliver_sm;
    uint32_t sequence = uint32_t(rng());
    std::string ours = "prefix", theirs = "prefix";  // both append
    encode_short_message(ours, kind, sequence, sm);
    REQUIRE(oracle::encode_short_message(theirs, kind, sequence, sm));
    REQUIRE(ours == theirs);
    ++compared;
    // What is written reads back (libsmpp34 refuses a sequence of 0), and a view writes the same bytes again.
    if (sequence == 0) continue;
    std::string written = ours.substr(6), again;
    ShortMessageView v = read_ok(written);
    encode_short_message(again, kind, sequence, v);
    CHECK(again == written);
  }
  CHECK(compared == 5000);
}

TEST_CASE("writer: 254 octets of short_message, which libsmpp34 refused (the proxy aborted), are written") {
  ShortMessage sm;
  sm.short_message = std::string(300, 'x');
  std::string ours, theirs;
  encode_short_message(ours, Command::deliver_sm, 1, sm);
  CHECK_FALSE(oracle::encode_short_message(theirs, Command::deliver_sm, 1, sm));
  CHECK(read_ok(ours).short_message == std::string(254, 'x'));
}

TEST_CASE("writer: message id responses and header-only PDUs as libsmpp34 packed them") {
  std::mt19937 rng(77);
  constexpr uint32_t kStatuses[] = {0, 0, 0, 1, 8, 0x45, 0x58, 0x64, 0xC2, 0xFF};
  for (int i = 0; i < 3000; ++i) {
    std::string id(rng() % 65, '\0');
    for (char& c : id) c = char('0' + rng() % 40);
    uint32_t st = kStatuses[rng() % 10], sequence = uint32_t(rng());
    // Where libsmpp34 differed and the writer kept Hajib's behaviour (oracle.h): deliver_sm_resp
    // with an id, data_sm_resp with a body on an error.
    Command kind = std::array{Command::submit_sm_resp, Command::deliver_sm_resp, Command::data_sm_resp}[rng() % 3];
    if (kind == Command::deliver_sm_resp) id.clear();
    if (kind == Command::data_sm_resp) st = 0;
    std::string ours, theirs;
    encode_message_id_resp(ours, kind, sequence, st, id);
    REQUIRE(oracle::encode_message_id_resp(theirs, kind, sequence, st, id));
    REQUIRE(ours == theirs);
  }
  for (Command kind : {Command::generic_nack, Command::enquire_link, Command::enquire_link_resp, Command::unbind,
                       Command::unbind_resp}) {
    for (uint32_t sequence : {0u, 1u, 0x7FFFFFFFu, 0xFFFFFFFFu}) {
      std::string ours, theirs;
      encode_header_only(ours, kind, sequence, status::ESME_RINVCMDID);
      REQUIRE(oracle::encode_header_only(theirs, kind, sequence, status::ESME_RINVCMDID));
      CHECK(ours == theirs);
    }
  }
}

TEST_CASE("writer: a message_id is cut at its NUL and at 64 octets, so that it always reads back") {
  std::string out;
  encode_message_id_resp(out, Command::submit_sm_resp, 1, 0, std::string(70, 'a'));
  std::string_view id;
  DecodeError error;
  REQUIRE(read_message_id_resp(out, id, error));
  CHECK(id == std::string(64, 'a'));
  out.clear();
  encode_message_id_resp(out, Command::submit_sm_resp, 1, 0, std::string("ab\0cd", 5));
  REQUIRE(read_message_id_resp(out, id, error));
  CHECK(id == "ab");
  CHECK(out.size() == kHeaderSize + 3);
}
