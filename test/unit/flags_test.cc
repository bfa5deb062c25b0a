// Flagged messages' examples (proxy/submit/flags.h): masked so that no code, number or link is kept.
#include <catch2/catch.hpp>

#include "proxy/submit/flags.h"

using proxy::mask_example;

TEST_CASE("flags: every ASCII digit becomes #, so a code is not kept") {
  CHECK(mask_example("Your code is 482913") == "Your code is ######");
  CHECK(mask_example("Call 0501234567 now") == "Call ########## now");
}

TEST_CASE("flags: Arabic-Indic and Eastern Arabic-Indic digits are masked too") {
  CHECK(mask_example("رمز: ٤٨٢١") == "رمز: ####");
  CHECK(mask_example("کد ۴۸۲۱") == "کد ####");
}

TEST_CASE("flags: links become [link], with their paths and the digits in them") {
  CHECK(mask_example("Pay at https://pay.example.com/i/8842?u=55 today") == "Pay at [link] today");
  CHECK(mask_example("see www.acme.example/x1") == "see [link]");
  CHECK(mask_example("see acme.example/promo/77") == "see [link]");
}

TEST_CASE("flags: text without digits or links is kept as it is") {
  CHECK(mask_example("Your code is ready") == "Your code is ready");
  CHECK(mask_example("") == "");
}

TEST_CASE("flags: a long example is cut at a character's boundary, never inside one") {
  std::string arabic;
  for (int i = 0; i < 400; ++i) arabic += "ب";  // 2 bytes each
  std::string masked = mask_example(arabic);
  CHECK(masked.size() <= proxy::kMaskedMax);
  CHECK(masked.size() % 2 == 0);
}
