// proxy/submit: the submit stage alone, with fakes of the operator side (Outbound), the customers
// (SubmitReplies) and the way back (DeliverySink), on the memory store. Every submit is answered
// exactly once; long messages are answered per part and forwarded whole, in order.
#include <catch2/catch.hpp>

#include "policy/saudi_time.h"
#include "proxy/submit/submits.h"
#include "stage_fakes.h"

namespace {

using namespace stage_fakes;
using smpp::Command;
namespace status = smpp::status;

const std::string kConfig = std::string(R"(listen: { smpp: "127.0.0.1:0", stats: "127.0.0.1:0" }
state: memory
upstreams:
  stc: { host: 127.0.0.1, port: 2776, system_id: hajib, password: pw }
routes:
  prefixes: { "96650": stc }
policy:
  rules:
    sender.not_registered: { status: 0x4A1 }
accounts:
  acme:
    password_hash: ")") + kPasswordHash + R"("
    allow_ips: [ "127.0.0.1/32" ]
    entity: private
    senders: { ACME: service, ACME-INFO: awareness }
    official_names: [ ACME ]
)";

constexpr uint32_t kNotRegistered = 0x4A1;    // sender.not_registered, as configured above
constexpr uint32_t kAwarenessCap = 0x40C;     // awareness.daily_cap, its default status
constexpr const char* kLocal = "0501234567";  // how the customer writes the number
constexpr const char* kNumber = "966501234567";

smpp::ShortMessage message(std::string source, std::string destination, std::string text) {
  smpp::ShortMessage sm;
  sm.source_addr_ton = 5;
  sm.source_addr = std::move(source);
  sm.dest_addr_ton = 0;  // unknown: the proxy writes international 1/1 with the normalised number
  sm.dest_addr_npi = 0;
  sm.destination_addr = std::move(destination);
  sm.registered_delivery = 1;
  sm.short_message = std::move(text);
  return sm;
}

smpp::ShortMessage service(std::string destination = kLocal) {
  return message("ACME", std::move(destination), "Your appointment is confirmed");
}

// Part `seq` of a 3-part message with a UDH (8-bit reference).
smpp::ShortMessage part(uint8_t seq, uint8_t total = 3) {
  auto sm = service();
  sm.esm_class = 0x40;
  const char udh[] = {0x05, 0x00, 0x03, 0x2A, char(total), char(seq)};
  sm.short_message = std::string(udh, sizeof udh) + "Part " + std::to_string(seq) + " of your appointment details. ";
  return sm;
}

uint8_t udh_sequence(const smpp::ShortMessage& sm) { return uint8_t(sm.short_message.at(5)); }

struct Stage {
  World world{kConfig};
  FakeReplies replies;
  FakeOutbound outbound;
  FakeDeliverySink sink;
  proxy::Submits submits{*world.ctx, world.accounts, *world.receipts};

  Stage() {
    outbound.prefixes["96650"] = 0;  // stc
    submits.wire(&replies, &outbound, &sink);
  }
  void submit(uint32_t sequence, const smpp::ShortMessage& sm, uint64_t session = 1) {
    std::string pdu = encode(Command::submit_sm, sm, sequence);
    submits.submit(proxy::SubmitOrigin{session, &world.account("acme")}, sequence, pdu, view_of(pdu));
  }
  void tick() { submits.on_tick(world.ctx->now_ms(), false, false); }
};

}  // namespace

TEST_CASE("submits: a destination that is not a Saudi mobile number is answered ESME_RINVDSTADR, never dispatched") {
  Stage s;
  s.submit(7, service("12345"));
  s.world.settle();
  REQUIRE(s.replies.replies.size() == 1);
  CHECK(s.replies.replies[0].sequence == 7);
  CHECK(s.replies.replies[0].status == status::ESME_RINVDSTADR);
  CHECK(s.replies.replies[0].message_id.empty());
  CHECK(s.outbound.dispatched.empty());
  CHECK(s.world.counters().submits_refused == 1);
}

TEST_CASE("submits: a message a rule refuses is answered with that rule's status, never dispatched") {
  Stage s;
  s.submit(8, message("NOPE", kLocal, "Your appointment is confirmed"));
  s.world.settle();
  REQUIRE(s.replies.replies.size() == 1);
  CHECK(s.replies.replies[0].status == kNotRegistered);
  CHECK(s.outbound.dispatched.empty());
  CHECK(s.world.store->reservations == 0);
}

TEST_CASE("submits: an accepted message is dispatched once, to the normalised number as TON/NPI 1/1, the other bytes the customer's") {
  Stage s;
  auto sm = service();
  s.submit(9, sm);
  s.world.settle();
  REQUIRE(s.outbound.dispatched.size() == 1);
  CHECK(s.replies.replies.empty());  // the customer waits for the operator's answer
  const proxy::Submit& out = *s.outbound.dispatched[0];
  CHECK(out.destination == kNumber);
  CHECK(out.upstream == 0);
  CHECK(out.customer == 1);
  CHECK(out.customer_sequence == 9);
  auto sent = decode(out.pdu);
  CHECK(sent.dest_addr_ton == 1);
  CHECK(sent.dest_addr_npi == 1);
  CHECK(sent.destination_addr == kNumber);
  auto expected = sm;  // byte for byte: only the destination fields differ
  expected.dest_addr_ton = 1;
  expected.dest_addr_npi = 1;
  expected.destination_addr = kNumber;
  CHECK(out.pdu == encode(Command::submit_sm, expected, 9));
}

TEST_CASE("submits: the operator's OK is answered to the customer exactly once, with our 16-hex message id") {
  Stage s;
  s.submit(10, service(), 3);
  s.world.settle();
  auto submit = s.outbound.take();
  std::string our_id(proxy::view(submit->id));
  s.submits.submit_answered(std::move(submit), status::ESME_ROK, "op-id");
  s.world.settle();
  s.tick();
  s.world.settle();
  REQUIRE(s.replies.replies.size() == 1);
  const auto& r = s.replies.replies[0];
  CHECK(r.session == 3);
  CHECK(r.sequence == 10);
  CHECK(r.status == status::ESME_ROK);
  CHECK(r.message_id == our_id);
  CHECK(is_our_message_id(r.message_id));
  CHECK(s.world.counters().submits_relayed == 1);
}

TEST_CASE("submits: the operator's message id is remembered, so that its receipt maps back to our id and account") {
  Stage s;
  s.submit(11, service());
  s.world.settle();
  auto submit = s.outbound.take();
  std::string our_id(proxy::view(submit->id));
  s.submits.submit_answered(std::move(submit), status::ESME_ROK, "OP-77");
  s.world.settle();
  proxy::ReceiptMap::Found found;
  s.world.receipts->find("stc", "op-77", s.world.ctx->now_ms(), [&](proxy::ReceiptMap::Found f) { found = f; });
  s.world.settle();
  CHECK(found.outcome == proxy::ReceiptMap::Outcome::mapped);
  CHECK(found.account == "acme");
  CHECK(found.our_id == our_id);
}

TEST_CASE("submits: a number no operator is routed for is answered ESME_RINVDSTADR, never dispatched") {
  Stage s;
  s.submit(12, service("0541234567"));  // 96654: not in the fake's table
  s.world.settle();
  REQUIRE(s.replies.replies.size() == 1);
  CHECK(s.replies.replies[0].status == status::ESME_RINVDSTADR);
  CHECK(s.outbound.dispatched.empty());
}

TEST_CASE("submits: a submit that never reached an operator is answered with the status it failed with") {
  Stage s;
  s.submit(13, service());
  s.world.settle();
  s.submits.submit_failed(s.outbound.take(), status::ESME_RTHROTTLED);
  REQUIRE(s.replies.replies.size() == 1);
  CHECK(s.replies.replies[0].status == status::ESME_RTHROTTLED);
  CHECK(s.replies.replies[0].message_id.empty());
}

TEST_CASE("submits: an operator's refusal reaches the customer with the operator's status") {
  Stage s;
  s.submit(14, service());
  s.world.settle();
  s.submits.submit_answered(s.outbound.take(), status::ESME_RSUBMITFAIL, "");
  REQUIRE(s.replies.replies.size() == 1);
  CHECK(s.replies.replies[0].status == status::ESME_RSUBMITFAIL);
  CHECK(s.replies.replies[0].message_id.empty());
  CHECK(s.world.counters().submits_operator_error == 1);
}

TEST_CASE("submits: an answer for a customer session that has closed is counted as orphaned") {
  Stage s;
  s.submit(15, service(), 4);
  s.world.settle();
  s.replies.gone.insert(4);
  s.submits.submit_answered(s.outbound.take(), status::ESME_ROK, "op-1");
  CHECK(s.replies.replies.empty());
  CHECK(s.world.counters().submit_responses_orphaned == 1);
}

TEST_CASE("submits: usage counts each relayed message once, in one batch per tick, and never again") {
  Stage s;
  for (uint32_t seq : {21, 22, 23}) s.submit(seq, service());
  s.world.settle();
  REQUIRE(s.outbound.dispatched.size() == 3);
  s.submits.submit_answered(s.outbound.take(), status::ESME_ROK, "op-1");
  s.submits.submit_answered(s.outbound.take(), status::ESME_ROK, "op-2");
  s.submits.submit_failed(s.outbound.take(), status::ESME_RSYSERR);  // not relayed: not billed
  s.tick();
  s.world.settle();
  REQUIRE(s.world.store->usage.size() == 1);
  const auto& u = s.world.store->usage[0];
  CHECK(u.account == "acme");
  CHECK(u.message_class == "service");
  CHECK(u.minute == kDaytime / 60);
  CHECK(u.messages == 2);
  CHECK(u.parts == 2);
  s.tick();  // confirmed: nothing is sent again
  s.world.settle();
  CHECK(s.world.store->usage.size() == 1);
  CHECK(s.world.counters().usage_batches_retried == 0);
}

TEST_CASE("submits: a stateful rule's refusal (awareness daily cap) is answered with its status, never dispatched") {
  Stage s;
  auto awareness = message("ACME-INFO", kLocal, "ACME: your account details have changed");
  s.submit(31, awareness);
  s.world.settle();
  CHECK(s.outbound.dispatched.size() == 1);  // the day's one awareness message to this number
  s.submit(32, awareness);
  s.world.settle();
  CHECK(s.outbound.dispatched.size() == 1);
  auto answers = s.replies.to(32);
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].status == kAwarenessCap);
  CHECK(s.world.store->reservations == 2);
}

TEST_CASE("submits: a message that never reached an operator gives its awareness allowance back") {
  Stage s;
  auto awareness = message("ACME-INFO", kLocal, "ACME: your account details have changed");
  s.submit(33, awareness);
  s.world.settle();
  s.submits.submit_failed(s.outbound.take(), status::ESME_RSYSERR);
  CHECK(s.world.store->releases == 1);
  s.submit(34, awareness);
  s.world.settle();
  CHECK(s.outbound.dispatched.size() == 1);
  CHECK(s.replies.to(34).empty());  // not refused: waiting for the operator
}

TEST_CASE("submits: each part of a long message is answered at once with its own id; all go together, in order, on the last") {
  Stage s;
  std::map<uint8_t, std::string> id_of_part;
  // Parts arrive 3, 1, 2; customer sequences 43, 41, 42.
  for (uint8_t seq : {3, 1, 2}) {
    CHECK(s.outbound.dispatched_in_order.empty());
    s.submit(40 + seq, part(seq));
    s.world.settle();
    auto answers = s.replies.to(40 + seq);
    REQUIRE(answers.size() == 1);
    CHECK(answers[0].status == status::ESME_ROK);
    CHECK(is_our_message_id(answers[0].message_id));
    id_of_part[seq] = answers[0].message_id;
  }
  CHECK(id_of_part[1] != id_of_part[2]);
  CHECK(id_of_part[2] != id_of_part[3]);
  CHECK(s.outbound.dispatched.empty());  // never one by one
  REQUIRE(s.outbound.dispatched_in_order.size() == 1);
  auto& batch = s.outbound.dispatched_in_order[0];
  CHECK(batch.upstream == 0);
  REQUIRE(batch.parts.size() == 3);
  for (uint8_t i = 0; i < 3; ++i) {
    const proxy::Submit& p = *batch.parts[i];
    auto sm = decode(p.pdu);
    CHECK(udh_sequence(sm) == i + 1);
    CHECK(sm.destination_addr == kNumber);
    CHECK(sm.dest_addr_ton == 1);
    CHECK(std::string(proxy::view(p.id)) == id_of_part[uint8_t(i + 1)]);
  }
  // The operator's answers do not answer the customer a second time.
  size_t answered = s.replies.replies.size();
  for (auto& p : batch.parts) s.submits.submit_answered(std::move(p), status::ESME_ROK, "op");
  CHECK(s.replies.replies.size() == answered);
  CHECK(s.world.counters().long_messages_forwarded == 1);
}

TEST_CASE("submits: a repeated part is answered with the id it got the first time and dispatched once") {
  Stage s;
  s.submit(51, part(1));
  s.submit(52, part(1));  // the customer's retry
  s.world.settle();
  auto first = s.replies.to(51), again = s.replies.to(52);
  REQUIRE(first.size() == 1);
  REQUIRE(again.size() == 1);
  CHECK(again[0].status == status::ESME_ROK);
  CHECK(again[0].message_id == first[0].message_id);
  CHECK(s.world.counters().long_message_parts_duplicated == 1);
  s.submit(53, part(2));
  s.submit(54, part(3));
  s.world.settle();
  REQUIRE(s.outbound.dispatched_in_order.size() == 1);
  CHECK(s.outbound.dispatched_in_order[0].parts.size() == 3);
  CHECK(s.world.store->held == 3);  // held once each
}

TEST_CASE("submits: a long message is billed once as a message and once per part") {
  Stage s;
  for (uint8_t seq : {1, 2, 3}) s.submit(60 + seq, part(seq));
  s.world.settle();
  REQUIRE(s.outbound.dispatched_in_order.size() == 1);
  for (auto& p : s.outbound.dispatched_in_order[0].parts) s.submits.submit_answered(std::move(p), status::ESME_ROK, "op");
  s.tick();
  s.world.settle();
  REQUIRE(s.world.store->usage.size() == 1);
  CHECK(s.world.store->usage[0].messages == 1);
  CHECK(s.world.store->usage[0].parts == 3);
}

TEST_CASE("submits: a part the operator refuses after its early answer becomes a failure receipt with the part's id") {
  Stage s;
  for (uint8_t seq : {1, 2, 3}) s.submit(70 + seq, part(seq));
  s.world.settle();
  REQUIRE(s.outbound.dispatched_in_order.size() == 1);
  auto& parts = s.outbound.dispatched_in_order[0].parts;
  std::string refused_id(proxy::view(parts[1]->id));
  size_t answered = s.replies.replies.size();
  s.submits.submit_answered(std::move(parts[0]), status::ESME_ROK, "op-1");
  s.submits.submit_answered(std::move(parts[1]), status::ESME_RSUBMITFAIL, "");
  CHECK(s.replies.replies.size() == answered);  // the customer had its answer: a receipt instead
  REQUIRE(s.sink.routed.size() == 1);
  const proxy::Delivery& d = *s.sink.routed[0];
  CHECK(d.account == "acme");
  CHECK(d.receipt);
  auto receipt = decode(d.pdu);
  CHECK(header_of(d.pdu).command_id == uint32_t(Command::deliver_sm));
  CHECK(receipt.is_delivery_receipt());
  const smpp::Tlv* id = receipt.find(smpp::tag::receipted_message_id);
  REQUIRE(id);
  CHECK(id->value == refused_id + '\0');
  CHECK(receipt.short_message.find("id:" + refused_id) != std::string::npos);
  CHECK(receipt.short_message.find("stat:REJECTD") != std::string::npos);
  CHECK(receipt.short_message.find("err:069") != std::string::npos);  // 0x45 in decimal
}

TEST_CASE("submits: the account's figures for the NOC count what it sent, what operators accepted, and each refusal by its rule") {
  Stage s;
  s.submit(41, service());
  s.world.settle();
  s.submits.submit_answered(s.outbound.take(), status::ESME_ROK, "op-1");
  s.submit(42, message("NOPE", kLocal, "Your appointment is confirmed"));  // sender.not_registered
  auto awareness = message("ACME-INFO", kLocal, "ACME: your account details have changed");
  s.submit(43, awareness);
  s.world.settle();
  s.submit(44, awareness);  // awareness.daily_cap, in the state store
  s.submit(45, service("12345"));  // not a Saudi number: refused by no rule
  s.world.settle();
  const proxy::AccountTally& t = s.world.account("acme").tally;
  CHECK(t.received == 5);
  CHECK(t.accepted == 1);
  CHECK(t.refused == 3);
  CHECK(t.refused_by_rule[size_t(policy::Rule::sender_not_registered)] == 1);
  CHECK(t.refused_by_rule[size_t(policy::Rule::awareness_daily_cap)] == 1);
  uint64_t by_rule = 0;
  for (uint64_t n : t.refused_by_rule) by_rule += n;
  CHECK(by_rule == 2);
}
