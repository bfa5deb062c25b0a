// libFuzzer target: destination numbers through normalize_msisdn, with the properties routing and opt-outs rely on.
//
// Input: the destination_addr as a customer writes it. Seeds: test/fuzz/corpus/msisdn/.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policy/msisdn.h"

namespace {

void fail(const char* what) {
  std::fprintf(stderr, "property broken: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto normal = policy::normalize_msisdn(input);
  if (!normal) return 0;
  const std::string& n = *normal;

  // The one international form, 9665 and 8 digits: what goes upstream with TON 1 / NPI 1 and
  // what routing prefixes, overrides and opt-out keys are written in.
  if (n.size() != 12 || !n.starts_with("9665")) fail("not 9665XXXXXXXX");
  for (char c : n)
    if (c < '0' || c > '9') fail("not digits only");

  // Normalising is stable, and every accepted form of the same number gives the same key, so a
  // customer cannot dodge an opt-out or a ported-number route by writing the number differently.
  const std::string subscriber = n.substr(3);  // 5XXXXXXXX
  for (const std::string& form : {n, "+" + n, "00" + n, "0" + subscriber, subscriber}) {
    auto again = policy::normalize_msisdn(form);
    if (!again || *again != n) fail("an accepted form of the number normalises differently");
  }
  // The digits of the subscriber number all come from the input, in order, at its end.
  if (!input.ends_with(subscriber)) fail("subscriber digits are not the end of the input");
  return 0;
}
