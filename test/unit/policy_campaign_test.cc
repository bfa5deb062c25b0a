// The campaign template (policy/campaign.h): personalised messages of one offer are one campaign, another offer is another.
#include <catch2/catch.hpp>

#include "policy/campaign.h"

namespace {

const policy::CampaignTemplater& templater() {
  static const policy::CampaignTemplater t;
  return t;
}

std::string campaign_of(std::string_view text, std::string_view account = "acme", std::string_view sender = "ACME-AD") {
  policy::Campaign c;
  templater().make(account, sender, text, c);
  return c.id;
}

}  // namespace

TEST_CASE("two texts that differ only in the name after a greeting are one campaign") {
  CHECK(campaign_of("Dear Ahmed, 20% off at ACME today") == campaign_of("Dear Sara Al-Qahtani, 20% off at ACME today"));
  CHECK(campaign_of("Hi Mr. Smith, your offer awaits") == campaign_of("Hi Mrs. Jones, your offer awaits"));
  CHECK(templater().template_of("Dear Mr. Ahmed Ali, 20% off") == "{name}, {n}% off");
}

TEST_CASE("an Arabic name after عزيزي, السيد or مرحبا is masked, whatever the diacritics") {
  CHECK(campaign_of("عزيزي محمد، خصم 20% على كل المنتجات") == campaign_of("عزيزي عبد الله، خصم 20% على كل المنتجات"));
  CHECK(campaign_of("مرحباً سارة! عرض خاص لك") == campaign_of("مرحبا نورة! عرض خاص لك"));
  CHECK(templater().template_of("السيد خالد العتيبي، لديك عرض") == "{name}، لديك عرض");
  CHECK(campaign_of("عزيزي محمد، لديك عرض") == campaign_of("عزيزتي سارة، لديك عرض"));
}

TEST_CASE("without punctuation after it, only the first word after a greeting is the name") {
  CHECK(templater().template_of("Hi Ahmed your order ships today") == "{name} your order ships today");
  CHECK(campaign_of("Hi Ahmed new sale on phones") != campaign_of("Hi Ahmed new sale on laptops"));
}

TEST_CASE("two texts that differ only in an amount are one campaign, ASCII or Arabic-Indic digits") {
  CHECK(campaign_of("Your cashback of SAR 1,250.50 is ready") == campaign_of("Your cashback of SAR 80 is ready"));
  CHECK(campaign_of("رصيدك ١٬٢٥٠ ريال") == campaign_of("رصيدك 300 ريال"));
  CHECK(templater().template_of("Save 50% now") == "Save {n}% now");
}

TEST_CASE("two texts that differ only in a code are one campaign") {
  CHECK(campaign_of("Use code A7K2Q for free delivery") == campaign_of("Use code ZX91P for free delivery"));
  CHECK(campaign_of("استخدم الرمز 4821 للتوصيل المجاني") == campaign_of("استخدم الرمز 9930 للتوصيل المجاني"));
}

TEST_CASE("two texts that differ only in a link's path are one campaign; the host is kept") {
  CHECK(campaign_of("Shop now https://acme.example/p/123?u=ab12") == campaign_of("Shop now https://ACME.example/p/9?u=zz"));
  CHECK(templater().template_of("Shop now https://acme.example/p/123.") == "Shop now https://acme.example/{path}.");
  CHECK(campaign_of("Shop now https://acme.example/x") != campaign_of("Shop now https://acme-deals.example/x"));
}

TEST_CASE("every link is returned whole, once each") {
  policy::Campaign c;
  templater().make("acme", "ACME-AD", "Go https://acme.example/a or www.acme.example/b, again https://acme.example/a", c);
  CHECK(c.links == std::vector<std::string>{"https://acme.example/a", "www.acme.example/b"});
}

TEST_CASE("whitespace runs do not split a campaign") {
  CHECK(campaign_of("Big  sale\n today ") == campaign_of("Big sale today"));
}

TEST_CASE("a different offer is another campaign") {
  CHECK(campaign_of("Dear Ahmed, 20% off shoes") != campaign_of("Dear Ahmed, 20% off watches"));
  CHECK(campaign_of("عزيزي محمد، خصم على الأحذية") != campaign_of("عزيزي محمد، خصم على الساعات"));
}

TEST_CASE("one template from another sender or account is another campaign") {
  CHECK(campaign_of("Big sale today", "acme", "ACME-AD") != campaign_of("Big sale today", "acme", "SHOP-AD"));
  CHECK(campaign_of("Big sale today", "acme", "ACME-AD") != campaign_of("Big sale today", "other", "ACME-AD"));
}

TEST_CASE("the campaign id is 16 hex digits, the same every time") {
  std::string id = policy::campaign_id("acme", "ACME-AD", "Big sale today");
  CHECK(id.size() == 16);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(id == policy::campaign_id("acme", "ACME-AD", "Big sale today"));
  CHECK(policy::campaign_id("ab", "c", "t") != policy::campaign_id("a", "bc", "t"));
}
