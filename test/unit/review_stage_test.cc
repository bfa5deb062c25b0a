// proxy/review/review_stage: pass, hold or refuse a promotional message from the campaigns decided, read through the version poll.
#include "proxy/review/review_stage.h"

#include "stage_fakes.h"

using proxy::CampaignState;
using proxy::ReviewStage;
using stage_fakes::kDaytime;
using stage_fakes::kPasswordHash;
using stage_fakes::World;

namespace {

std::string config_yaml() {
  return std::string(R"(listen: { smpp: "127.0.0.1:0", stats: "127.0.0.1:0" }
state: memory
upstreams:
  stc: { host: 127.0.0.1, port: 2776, system_id: hajib, password: pw }
routes:
  prefixes: { "96650": stc }
review: { approval_hours: 720, pending_hours: 72 }
accounts:
  shop: { password_hash: ")") + kPasswordHash + R"(", allow_ips: [ "127.0.0.1/32" ], entity: private,
          promotional_via_smpp: true, senders: { SHOP-AD: promotional, SHOP: service } }
  bank: { password_hash: ")" + kPasswordHash + R"(", allow_ips: [ "127.0.0.1/32" ], entity: private, bank: true,
          promotional_via_smpp: true, senders: { BANK-AD: promotional } }
  courier: { password_hash: ")" + kPasswordHash + R"(", allow_ips: [ "127.0.0.1/32" ], entity: private, bank: true,
             senders: { COURIER: service }, volume: { surge_factor: 5, on_surge: hold } }
)";
}

constexpr const char* kOffer = "Dear Ahmed, 20% off shoes at https://shop.example/p/a1";

struct Reviewed {
  World w{config_yaml()};
  ReviewStage stage{*w.ctx};
  std::vector<std::tuple<std::string, std::string, CampaignState>> told;  // on_decided's calls

  Reviewed() {
    stage.on_decided = [this](const std::string& a, const std::string& c, CampaignState s) { told.emplace_back(a, c, s); };
  }
  ReviewStage::Decision offer(const char* text = kOffer) {
    return stage.decide("shop", "SHOP-AD", text, policy::MessageClass::promotional);
  }
  // The store says `member` is decided; the version moves; the stage polls on its next tick.
  void decide_in_store(const std::string& member, const std::string& version) {
    w.store->decided["shop"] = {{member, std::to_string(kDaytime + 3600)}};
    w.store->review_version_value = version;
    const int reads = w.store->decided_reads;
    tick();
    REQUIRE(w.run_until([&] { return w.store->decided_reads > reads; }));
    w.settle();
  }
  void tick() {
    now_ms += 1000;
    stage.on_tick(now_ms);
  }
  uint64_t now_ms = 1000000;
};

}  // namespace

TEST_CASE("a promotional message of an undecided campaign waits for review, named by its campaign") {
  Reviewed r;
  auto d = r.offer();
  CHECK(d.outcome == ReviewStage::Outcome::hold);
  CHECK(d.campaign.size() == 16);
  CHECK(r.offer("Dear Sara, 20% off shoes at https://shop.example/p/b2").campaign == d.campaign);
}

TEST_CASE("messages that are not reviewed pass without a campaign: other classes, exempt accounts") {
  Reviewed r;
  CHECK(r.stage.decide("shop", "SHOP", kOffer, policy::MessageClass::service).outcome == ReviewStage::Outcome::pass);
  auto bank = r.stage.decide("bank", "BANK-AD", kOffer, policy::MessageClass::promotional);
  CHECK(bank.outcome == ReviewStage::Outcome::pass);
  CHECK(bank.campaign.empty());
}

TEST_CASE("a held message is noted in the campaign book: template, example, links, and how long it may wait") {
  Reviewed r;
  auto d = r.offer();
  r.stage.note("shop", "SHOP-AD", kOffer, d.campaign);
  REQUIRE(r.w.store->noted.size() == 1);
  const auto& n = r.w.store->noted[0];
  CHECK(n.campaign == d.campaign);
  CHECK(n.template_text == "{name}, {n}% off shoes at https://shop.example/{path}");
  CHECK(n.example == kOffer);
  CHECK(n.links == std::vector<std::string>{"https://shop.example/p/a1"});
  CHECK(n.now_s == kDaytime);
  CHECK(n.pending_s == 72 * 3600);
}

TEST_CASE("once the version moves, an approved campaign passes and on_decided is told once") {
  Reviewed r;
  std::string id = r.offer().campaign;
  r.decide_in_store(id + " approved", "1");
  CHECK(r.offer().outcome == ReviewStage::Outcome::pass);
  REQUIRE(r.told.size() == 1);
  CHECK(r.told[0] == std::make_tuple(std::string("shop"), id, CampaignState::approved));
  const int reads = r.w.store->decided_reads;
  r.tick();  // the same version: nothing read again, nobody told again
  r.w.settle();
  CHECK(r.w.store->decided_reads == reads);
  CHECK(r.told.size() == 1);
}

TEST_CASE("a rejected campaign is refused campaign.rejected (0x40E, REJECTD); an expired one campaign.expired (0x40F, EXPIRED)") {
  Reviewed r;
  std::string id = r.offer().campaign;
  r.decide_in_store(id + " rejected", "1");
  auto d = r.offer();
  CHECK(d.outcome == ReviewStage::Outcome::reject);
  CHECK(d.rule == policy::Rule::campaign_rejected);
  CHECK(d.status == 0x40E);
  CHECK(d.stat == "REJECTD");
  r.decide_in_store(id + " expired", "2");
  d = r.offer();
  CHECK(d.rule == policy::Rule::campaign_expired);
  CHECK(d.status == 0x40F);
  CHECK(d.stat == "EXPIRED");
  CHECK(r.told.size() == 2);
}

TEST_CASE("an approval lapses: after its time the campaign waits for review again") {
  Reviewed r;
  std::string id = r.offer().campaign;
  r.decide_in_store(id + " approved", "1");
  CHECK(r.offer().outcome == ReviewStage::Outcome::pass);
  r.w.ctx->frozen_clock = kDaytime + 3600;  // the store's entry said until kDaytime + 1 h
  CHECK(r.offer().outcome == ReviewStage::Outcome::hold);
}

TEST_CASE("the tick asks the store to expire the reviewed accounts' campaigns pending for pending_hours") {
  Reviewed r;
  r.tick();
  REQUIRE(r.w.store->expiries.size() == 1);
  const auto& e = r.w.store->expiries[0];
  CHECK(e.accounts == std::vector<std::string>{"courier", "shop"});  // the bank is not reviewed (the courier's surges are)
  CHECK(e.cutoff_s == kDaytime - 72 * 3600);
  CHECK(e.until_s == kDaytime + 72 * 3600);
  r.w.settle();
}

TEST_CASE("a surge held for review is a campaign of its own: the text's campaign marked -surge, any class, any account") {
  Reviewed r;
  auto surge = r.stage.decide_surge("courier", "COURIER", "Your card ending 4411 was charged 120 SAR");
  CHECK(surge.outcome == ReviewStage::Outcome::hold);
  CHECK(surge.campaign.ends_with("-surge"));
  CHECK(surge.campaign.size() == 16 + 6);
  // A bank, exempt from review, and a service message, never reviewed: only the surge holds it.
  CHECK(r.stage.decide("courier", "COURIER", "Your card ending 4411 was charged 120 SAR", policy::MessageClass::service)
            .outcome == ReviewStage::Outcome::pass);
  r.stage.note("courier", "COURIER", "Your card ending 4411 was charged 120 SAR", surge.campaign);
  REQUIRE(r.w.store->noted.size() == 1);
  CHECK(r.w.store->noted[0].campaign == surge.campaign);
  CHECK(r.w.store->noted[0].template_text == "[volume surge] Your card ending {n} was charged {n} SAR");
}

TEST_CASE("an account with on_surge: hold has its decided campaigns read and its pending ones expired, reviewed or not") {
  Reviewed r;
  r.tick();
  REQUIRE(r.w.store->expiries.size() == 1);
  CHECK(r.w.store->expiries[0].accounts == std::vector<std::string>{"courier", "shop"});
  r.w.settle();
}

TEST_CASE("at release a held message's campaign is asked by its id: approved passes, pending holds, rejected refuses") {
  Reviewed r;
  std::string id = r.offer().campaign;
  CHECK(r.stage.decided("shop", id).outcome == ReviewStage::Outcome::hold);
  r.decide_in_store(id + " approved", "1");
  CHECK(r.stage.decided("shop", id).outcome == ReviewStage::Outcome::pass);
  r.decide_in_store(id + " rejected", "2");
  auto d = r.stage.decided("shop", id);
  CHECK(d.outcome == ReviewStage::Outcome::reject);
  CHECK(d.stat == "REJECTD");
}
