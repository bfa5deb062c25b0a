// proxy/deliver: the deliver stage alone, with fakes of the operator side (OperatorAcks), the
// submit stage (InternalSubmits) and the account's receivers, on the memory store. Receipts map
// back to our ids, MOs go to the account that owns the number, the operator is answered once.
#include <catch2/catch.hpp>

#include "proxy/deliver/deliveries.h"
#include "smpp/text.h"
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
accounts:
  acme:
    password_hash: ")") + kPasswordHash + R"("
    allow_ips: [ "127.0.0.1/32" ]
    mo_numbers: [ "7001" ]
    entity: private
    senders: { ACME: service }
    confirmation_sender: ACME
    official_names: [ "ACME Trading", "أكمي للتجارة" ]
  quiet:
    password_hash: ")" + kPasswordHash + R"("
    allow_ips: [ "127.0.0.1/32" ]
    mo_numbers: [ "7002" ]
    entity: private
    senders: { QUIET: service }
)";

constexpr proxy::LinkRef kLink{17, 0};  // the operator link that brought the deliver_sm (stc)
constexpr const char* kOurId = "00000a00000000aa";

smpp::ShortMessage mo(std::string to, std::string text, std::string from = "0501234567") {
  smpp::ShortMessage sm;
  sm.source_addr_ton = 1;
  sm.source_addr_npi = 1;
  sm.source_addr = std::move(from);
  sm.destination_addr = std::move(to);
  sm.short_message = std::move(text);
  return sm;
}

smpp::ShortMessage receipt(const std::string& operator_id) {
  smpp::ShortMessage sm;
  sm.source_addr = "966501234567";
  sm.destination_addr = "ACME";
  sm.esm_class = 0x04;
  sm.short_message = "id:" + operator_id + " sub:001 dlvrd:001 submit date:2606011000 done date:2606011001 stat:DELIVRD err:000 text:";
  sm.tlvs.push_back(smpp::Tlv{smpp::tag::receipted_message_id, operator_id + '\0'});
  sm.tlvs.push_back(smpp::Tlv{smpp::tag::message_state, std::string(1, char(2))});  // DELIVERED: final
  return sm;
}

// The same, with room for one kept delivery per account.
std::string with_one_kept() {
  std::string yaml = kConfig;
  yaml.insert(yaml.find("upstreams:"), "limits: { pending_receipts_max: 1 }\n");
  return yaml;
}

struct Stage {
  World world;
  FakeAcks acks;
  FakeInternalSubmits internal;
  proxy::Deliveries deliveries{*world.ctx, world.accounts, *world.receipts};

  explicit Stage(const std::string& yaml = kConfig) : world(yaml) { deliveries.wire(&acks, &internal); }
  void deliver(uint32_t sequence, smpp::ShortMessage sm) { deliveries.operator_delivered(kLink, sequence, std::move(sm)); }
  void bind(FakeReceiver& r, const std::string& account = "acme") { world.account(account).receivers.push_back(&r); }
  // The state store's verdict on a promotional message from acme to `number`.
  policy::Rule opt_out_check(const std::string& account, const std::string& number) {
    proxy::StateReservation r;
    r.account = account;
    r.number = number;
    r.needs.opt_out = true;
    policy::Rule result = policy::Rule::count;
    world.store->reserve(r, [&](bool, policy::Rule failed) { result = failed; });
    world.settle();
    return result;
  }
  std::vector<FakeAcks::Ack> acks_of(uint32_t sequence) const {
    std::vector<FakeAcks::Ack> out;
    for (const auto& a : acks.acks)
      if (a.sequence == sequence) out.push_back(a);
    return out;
  }
};

}  // namespace

TEST_CASE("deliveries: an MO to a number no account owns is answered ESME_RINVDSTADR") {
  Stage s;
  FakeReceiver r;
  s.bind(r);
  s.deliver(1, mo("7999", "hello"));
  s.world.settle();
  REQUIRE(s.acks.acks.size() == 1);
  CHECK(s.acks.acks[0].link == kLink.id);
  CHECK(s.acks.acks[0].sequence == 1);
  CHECK(s.acks.acks[0].status == status::ESME_RINVDSTADR);
  CHECK(r.got.empty());
  CHECK(s.world.counters().mo_unroutable == 1);
}

TEST_CASE("deliveries: an MO to an owned number goes to a receiver with room, as deliver_sm") {
  Stage s;
  FakeReceiver r;
  s.bind(r);
  s.deliver(2, mo("7001", "hello"));
  REQUIRE(r.got.size() == 1);
  const proxy::Delivery& d = *r.got[0];
  CHECK(d.account == "acme");
  CHECK_FALSE(d.receipt);
  CHECK(header_of(d.pdu).command_id == uint32_t(Command::deliver_sm));
  auto sm = decode(d.pdu);
  CHECK(sm.short_message == "hello");
  CHECK(sm.source_addr == "0501234567");
}

TEST_CASE("deliveries: the operator is answered ESME_ROK once, whether the store or the customer is first") {
  Stage s;
  FakeReceiver r;
  s.bind(r);
  s.deliver(3, mo("7001", "hello"));
  REQUIRE(r.got.size() == 1);
  SECTION("kept first, then acknowledged") {
    CHECK(s.acks.acks.empty());  // neither is done yet
    s.world.settle();
    REQUIRE(s.acks.acks.size() == 1);
    s.deliveries.delivery_acknowledged(r.take(), status::ESME_ROK);
    s.world.settle();
  }
  SECTION("acknowledged first, then kept") {
    s.deliveries.delivery_acknowledged(r.take(), status::ESME_ROK);
    REQUIRE(s.acks.acks.size() == 1);
    s.world.settle();
  }
  REQUIRE(s.acks.acks.size() == 1);
  CHECK(s.acks.acks[0].link == kLink.id);
  CHECK(s.acks.acks[0].sequence == 3);
  CHECK(s.acks.acks[0].status == status::ESME_ROK);
}

TEST_CASE("deliveries: with no receiver bound an MO is kept, and the operator answered ESME_ROK") {
  Stage s;
  s.deliver(4, mo("7001", "hello"));
  s.world.settle();
  REQUIRE(s.acks.acks.size() == 1);
  CHECK(s.acks.acks[0].status == status::ESME_ROK);
  CHECK(s.world.counters().deliveries_stored == 1);
  std::vector<std::pair<std::string, std::string>> kept;
  s.world.store->kept_deliveries("acme", 10, [&](bool, auto items) { kept = std::move(items); });
  s.world.settle();
  REQUIRE(kept.size() == 1);
  CHECK(decode(kept[0].second).short_message == "hello");
}

TEST_CASE("deliveries: one that can be neither kept nor handed to a receiver is answered ESME_RX_T_APPN, for a retry") {
  Stage s(with_one_kept());
  s.deliver(1, mo("7001", "kept"));
  s.deliver(2, mo("7001", "no room left"));
  s.world.settle();
  REQUIRE(s.acks_of(1).size() == 1);
  CHECK(s.acks_of(1)[0].status == status::ESME_ROK);
  REQUIRE(s.acks_of(2).size() == 1);
  CHECK(s.acks_of(2)[0].status == status::ESME_RX_T_APPN);
  CHECK(s.world.counters().deliveries_store_failed == 1);
}

TEST_CASE("deliveries: what was kept goes to a receiver as soon as it binds") {
  Stage s;
  s.deliver(5, mo("7001", "kept for later"));
  s.world.settle();
  FakeReceiver r;
  s.bind(r);
  s.deliveries.receiver_bound(s.world.account("acme"));
  s.world.settle();
  REQUIRE(r.got.size() == 1);
  CHECK(r.got[0]->kept);
  CHECK(decode(r.got[0]->pdu).short_message == "kept for later");
  CHECK(s.acks.acks.size() == 1);  // the operator was answered once, when it was kept
}

TEST_CASE("deliveries: a delivery its receiver did not acknowledge is fetched again for the next receiver") {
  Stage s;
  FakeReceiver slow(1), other(0);
  s.bind(slow);
  s.bind(other);
  s.deliver(6, mo("7001", "try again"));
  s.world.settle();
  REQUIRE(slow.got.size() == 1);
  std::string key = slow.got[0]->key;
  s.deliveries.on_tick(s.world.ctx->now_ms());  // a regular fetch: it is at a customer, not sent twice
  s.world.settle();
  CHECK(slow.got.size() == 1);
  CHECK(other.got.empty());
  slow.room = 0;  // it let the delivery time out and backs off
  other.room = 1;
  s.deliveries.delivery_undelivered(slow.take(), true);
  CHECK(s.world.counters().deliveries_timed_out == 1);
  s.deliveries.on_tick(s.world.ctx->now_ms());
  s.world.settle();
  REQUIRE(other.got.size() == 1);
  CHECK(other.got[0]->key == key);
  CHECK(decode(other.got[0]->pdu).short_message == "try again");
  CHECK(slow.got.empty());
  CHECK(s.acks_of(6).size() == 1);  // the operator is not asked again
}

TEST_CASE("deliveries: MOs go round robin between the receivers with room") {
  Stage s;
  FakeReceiver a, b;
  s.bind(a);
  s.bind(b);
  for (uint32_t seq = 1; seq <= 4; ++seq) s.deliver(seq, mo("7001", "mo " + std::to_string(seq)));
  REQUIRE(a.got.size() == 2);
  REQUIRE(b.got.size() == 2);
  CHECK(decode(a.got[0]->pdu).short_message == "mo 1");
  CHECK(decode(b.got[0]->pdu).short_message == "mo 2");
  CHECK(decode(a.got[1]->pdu).short_message == "mo 3");
  CHECK(decode(b.got[1]->pdu).short_message == "mo 4");
}

TEST_CASE("deliveries: a receiver without room is passed over") {
  Stage s;
  FakeReceiver full(0), free(5);
  s.bind(full);
  s.bind(free);
  s.deliver(1, mo("7001", "one"));
  s.deliver(2, mo("7001", "two"));
  CHECK(full.got.empty());
  CHECK(free.got.size() == 2);
}

TEST_CASE("deliveries: a receipt whose operator id nobody knows is answered ESME_RX_T_APPN, for the operator to retry") {
  Stage s;
  FakeReceiver r;
  s.bind(r);
  s.deliver(7, receipt("DEADBEEF"));
  s.world.settle();
  REQUIRE(s.acks.acks.size() == 1);
  CHECK(s.acks.acks[0].status == status::ESME_RX_T_APPN);
  CHECK(r.got.empty());
  CHECK(s.world.counters().receipts_unknown_retried == 1);
}

TEST_CASE("deliveries: a mapped receipt reaches the customer with our id, in receipted_message_id and in the text") {
  Stage s;
  FakeReceiver r;
  s.bind(r);
  s.world.receipts->remember("stc", "abc123", "acme", kOurId, kDaytime + 86400, s.world.ctx->now_ms());
  s.world.settle();
  s.deliver(8, receipt("ABC123"));  // the operator's own spelling; text ids compare case-blind
  s.world.settle();
  REQUIRE(r.got.size() == 1);
  const proxy::Delivery& d = *r.got[0];
  CHECK(d.account == "acme");
  CHECK(d.receipt);
  auto sm = decode(d.pdu);
  CHECK(sm.is_delivery_receipt());
  const smpp::Tlv* id = sm.find(smpp::tag::receipted_message_id);
  REQUIRE(id);
  CHECK(id->value == std::string(kOurId) + '\0');
  CHECK(sm.short_message.starts_with(std::string("id:") + kOurId + " "));
  CHECK(sm.short_message.find("ABC123") == std::string::npos);
  REQUIRE(s.acks_of(8).size() == 1);
  CHECK(s.acks_of(8)[0].status == status::ESME_ROK);
}

TEST_CASE("deliveries: a final receipt sent again after it was handed on is acknowledged, not relayed twice") {
  Stage s;
  FakeReceiver r;
  s.bind(r);
  s.world.receipts->remember("stc", "abc123", "acme", kOurId, kDaytime + 86400, s.world.ctx->now_ms());
  s.deliver(9, receipt("ABC123"));
  s.world.settle();
  REQUIRE(r.got.size() == 1);
  s.deliveries.delivery_acknowledged(r.take(), status::ESME_ROK);
  s.deliver(10, receipt("ABC123"));
  s.world.settle();
  CHECK(r.got.empty());
  REQUIRE(s.acks_of(10).size() == 1);
  CHECK(s.acks_of(10)[0].status == status::ESME_ROK);
  CHECK(s.world.counters().receipts_duplicate == 1);
}

TEST_CASE("deliveries: a stop word opts the sender out and sends a confirmation from the account's confirmation_sender") {
  Stage s;
  FakeReceiver r;
  s.bind(r);
  CHECK(s.opt_out_check("acme", "966501234567") == policy::Rule::none);
  s.deliver(11, mo("7001", "STOP"));
  s.world.settle();
  CHECK(s.opt_out_check("acme", "966501234567") == policy::Rule::recipient_opted_out);
  CHECK(s.world.counters().opt_outs == 1);
  REQUIRE(s.internal.sent.size() == 1);
  const proxy::Submit& c = *s.internal.sent[0];
  CHECK(c.internal);
  CHECK(*c.account == "acme");
  CHECK(c.destination == "966501234567");
  auto sm = decode(c.pdu);
  CHECK(header_of(c.pdu).command_id == uint32_t(Command::submit_sm));
  CHECK(sm.source_addr == "ACME");
  CHECK(sm.destination_addr == "966501234567");
  CHECK(sm.dest_addr_ton == 1);
  CHECK(r.got.size() == 1);  // the MO itself still reaches the customer
}

// The text of a confirmation as the handset shows it.
std::string confirmation_text(const smpp::ShortMessage& sm) {
  std::string text;
  REQUIRE(smpp::decode_text(sm.data_coding, sm.short_message, smpp::TextOptions{}, text));
  return text;
}

TEST_CASE("deliveries: STOP is confirmed in English, GSM 7-bit (data_coding 0), naming the account's English official name") {
  Stage s;
  s.deliver(14, mo("7001", "STOP"));
  s.world.settle();
  REQUIRE(s.internal.sent.size() == 1);
  auto sm = decode(s.internal.sent[0]->pdu);
  CHECK(sm.data_coding == 0);
  CHECK(confirmation_text(sm) == "You will no longer receive promotional messages from ACME Trading.");
}

TEST_CASE("deliveries: إيقاف is confirmed in Arabic, UCS-2 (data_coding 8), naming the account's Arabic official name") {
  Stage s;
  smpp::ShortMessage stop = mo("7001", "");
  stop.data_coding = 8;
  smpp::encode_ucs2("إيقاف", stop.short_message);
  s.deliver(15, stop);
  s.world.settle();
  CHECK(s.opt_out_check("acme", "966501234567") == policy::Rule::recipient_opted_out);
  REQUIRE(s.internal.sent.size() == 1);
  auto sm = decode(s.internal.sent[0]->pdu);
  CHECK(sm.data_coding == 8);
  CHECK(confirmation_text(sm) == "لن تصلك بعد الآن رسائل ترويجية من أكمي للتجارة.");
}

TEST_CASE("deliveries: an account without a confirmation_sender is opted out of, with no confirmation") {
  Stage s;
  s.deliver(12, mo("7002", "STOP"));
  s.world.settle();
  CHECK(s.opt_out_check("quiet", "966501234567") == policy::Rule::recipient_opted_out);
  CHECK(s.internal.sent.empty());
}

TEST_CASE("deliveries: a text that only contains a stop word is an ordinary MO") {
  Stage s;
  s.deliver(13, mo("7001", "please STOP calling me"));
  s.world.settle();
  CHECK(s.opt_out_check("acme", "966501234567") == policy::Rule::none);
  CHECK(s.internal.sent.empty());
  CHECK(s.world.counters().opt_outs == 0);
}
