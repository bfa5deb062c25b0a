// proxy/review: the table of decided campaigns each instance keeps, read from the store's decided index.
#include <catch2/catch.hpp>

#include "proxy/review/review_stage.h"

using proxy::CampaignState;
using proxy::DecidedCampaigns;

namespace {
std::map<std::string, DecidedCampaigns::Entry, std::less<>> entries(std::initializer_list<std::pair<const std::string, DecidedCampaigns::Entry>> list) {
  return {list};
}
}  // namespace

TEST_CASE("a campaign nobody decided is pending") {
  DecidedCampaigns table;
  CHECK(table.state("acme", "0123456789abcdef", 1000) == CampaignState::pending);
}

TEST_CASE("a decided campaign has its state until its decision lapses, then it is pending again") {
  DecidedCampaigns table;
  std::vector<DecidedCampaigns::Change> changes;
  table.replace("acme", entries({{"aa", {CampaignState::approved, 2000}}, {"bb", {CampaignState::rejected, 3000}}}), changes);
  CHECK(table.state("acme", "aa", 1999) == CampaignState::approved);
  CHECK(table.state("acme", "bb", 1999) == CampaignState::rejected);
  CHECK(table.state("acme", "aa", 2000) == CampaignState::pending);
  CHECK(table.state("other", "aa", 1999) == CampaignState::pending);  // ids are per account
}

TEST_CASE("a reload reports each campaign newly decided or decided otherwise, once") {
  DecidedCampaigns table;
  std::vector<DecidedCampaigns::Change> changes;
  table.replace("acme", entries({{"aa", {CampaignState::approved, 2000}}}), changes);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].campaign == "aa");
  CHECK(changes[0].state == CampaignState::approved);
  changes.clear();
  table.replace("acme", entries({{"aa", {CampaignState::approved, 2000}}, {"bb", {CampaignState::expired, 2000}}}), changes);
  REQUIRE(changes.size() == 1);  // aa was known already
  CHECK(changes[0].campaign == "bb");
  changes.clear();
  table.replace("acme", entries({{"aa", {CampaignState::rejected, 2000}}, {"bb", {CampaignState::expired, 2000}}}), changes);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].state == CampaignState::rejected);
}

TEST_CASE("the table stays bounded: lapsed decisions and forgotten accounts are dropped") {
  DecidedCampaigns table;
  std::vector<DecidedCampaigns::Change> changes;
  table.replace("acme", entries({{"aa", {CampaignState::approved, 2000}}, {"bb", {CampaignState::approved, 5000}}}), changes);
  table.replace("shop", entries({{"cc", {CampaignState::rejected, 5000}}}), changes);
  table.prune(2000);
  CHECK(table.size() == 2);
  table.keep_only({"acme"});
  CHECK(table.size() == 1);
  CHECK(table.state("shop", "cc", 100) == CampaignState::pending);
}

TEST_CASE("the store's decided index reads as id, state and until; anything else is skipped") {
  std::string id;
  DecidedCampaigns::Entry e;
  REQUIRE(DecidedCampaigns::parse("0123456789abcdef approved", "1767225600", id, e));
  CHECK(id == "0123456789abcdef");
  CHECK(e.state == CampaignState::approved);
  CHECK(e.until_s == 1767225600);
  CHECK(DecidedCampaigns::parse("0123 rejected", "1.7672256e+09", id, e));
  CHECK(e.until_s == 1767225600);
  CHECK_FALSE(DecidedCampaigns::parse("0123 pending", "1", id, e));
  CHECK_FALSE(DecidedCampaigns::parse("0123", "1", id, e));
  CHECK_FALSE(DecidedCampaigns::parse("0123 approved", "soon", id, e));
}
