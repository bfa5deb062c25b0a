// Receipt ids: the operator's id in any of its forms finds the same message.
#include <catch2/catch.hpp>

#include "proxy/submit/message_id.h"
#include "proxy/deliver/receipt_id.h"

using proxy::canonical_operator_id;
using proxy::IdFormat;

TEST_CASE("a hex id in submit_sm_resp and its decimal form in the receipt give one key") {
  auto submit = canonical_operator_id("1A2B3C", IdFormat::hex);
  REQUIRE(submit);
  CHECK(canonical_operator_id("1715004", IdFormat::decimal) == submit);
  CHECK(canonical_operator_id("0001715004", IdFormat::decimal) == submit);
  CHECK(canonical_operator_id("1a2b3c", IdFormat::hex) == submit);
  CHECK(canonical_operator_id("001A2B3C", IdFormat::hex) == submit);
}

TEST_CASE("text ids ignore case and leading zeros") {
  CHECK(canonical_operator_id("00AbC-12", IdFormat::text) == "abc-12");
  CHECK(canonical_operator_id("abc-12", IdFormat::text) == "abc-12");
  CHECK(canonical_operator_id("000", IdFormat::text) == "0");
}

TEST_CASE("ids that do not fit their declared format, or are empty, give no key") {
  CHECK_FALSE(canonical_operator_id("", IdFormat::text));
  CHECK_FALSE(canonical_operator_id("12g4", IdFormat::hex));
  CHECK_FALSE(canonical_operator_id("12a4", IdFormat::decimal));
  CHECK_FALSE(canonical_operator_id(std::string(40, '9'), IdFormat::decimal));  // no silent wrap-around
}

TEST_CASE("the receipt text's id: field is found and replaced, and nothing else") {
  std::string text = "id:0012345 sub:001 dlvrd:001 submit date:2611221200 done date:2611221201 stat:DELIVRD err:000 text:hi";
  CHECK(proxy::receipt_text_id(text) == "0012345");
  std::string out = proxy::replace_receipt_text_id(text, "00000a0000000001");
  CHECK(out.starts_with("id:00000a0000000001 sub:001"));
  CHECK(out.ends_with("stat:DELIVRD err:000 text:hi"));
  CHECK(proxy::receipt_text_id("sub:001 stat:DELIVRD") == "");
  CHECK(proxy::receipt_text_id("xid:1 id:2 sub:1") == "2");
}

TEST_CASE("message ids are 16 hex digits, carry the instance and never repeat") {
  proxy::MessageIdAllocator a(0xABCDE), b(0x00001);
  auto first = a.next(), second = a.next(), other = b.next();
  CHECK(proxy::view(first) == "abcde00000000000");
  CHECK(proxy::view(second) == "abcde00000000001");
  CHECK(proxy::view(other) == "0000100000000000");
}

TEST_CASE("a receipt is final when its state is: delivered, expired, deleted, undeliverable, rejected") {
  using proxy::receipt_is_final;
  for (uint8_t state : {2, 3, 4, 5, 8}) CHECK(receipt_is_final(state, ""));
  for (uint8_t state : {1, 6, 7}) CHECK_FALSE(receipt_is_final(state, "stat:DELIVRD"));  // the TLV wins
  CHECK(receipt_is_final(std::nullopt, "id:1 sub:001 dlvrd:001 submit date:2501011200 done date:2501011200 stat:DELIVRD err:000"));
  CHECK(receipt_is_final(std::nullopt, "id:1 stat:UNDELIV err:001"));
  CHECK_FALSE(receipt_is_final(std::nullopt, "id:1 stat:ENROUTE err:000"));
  CHECK_FALSE(receipt_is_final(std::nullopt, "id:1 stat:ACCEPTD err:000"));
  CHECK_FALSE(receipt_is_final(std::nullopt, "no state at all"));
}
