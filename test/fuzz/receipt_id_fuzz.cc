// libFuzzer target: operator ids and receipt texts through canonical_operator_id, receipt_text_id, replace_receipt_text_id and receipt_is_final.
//
// Input: an operator id, a 0x00 octet, then a receipt text (as an operator's deliver_sm carries
// it). Without a 0x00 the whole input is both. Seeds: test/fuzz/corpus/receipt_id/.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/deliver/receipt_id.h"

namespace {

void fail(const char* what) {
  std::fprintf(stderr, "property broken: %s\n", what);
  std::abort();
}

bool all_decimal(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return !s.empty();
}

// Canonical keys are what receipts are matched on: a key must be its own canonical form, or the
// same id written twice would map to two keys.
void check_canonical(std::string_view id) {
  using proxy::IdFormat;
  for (IdFormat format : {IdFormat::text, IdFormat::hex, IdFormat::decimal}) {
    auto key = proxy::canonical_operator_id(id, format);
    if (id.empty() && key) fail("empty id has a key");
    if (!key) continue;
    if (key->empty()) fail("empty key");
    if (format != IdFormat::text) {
      // Hex and decimal ids become decimal values without leading zeros.
      if (!all_decimal(*key)) fail("numeric key is not decimal");
      if (key->size() > 1 && (*key)[0] == '0') fail("numeric key has a leading zero");
      auto again = proxy::canonical_operator_id(*key, IdFormat::decimal);
      if (!again || *again != *key) fail("decimal key is not stable");
    } else {
      auto again = proxy::canonical_operator_id(*key, IdFormat::text);
      if (!again || *again != *key) fail("text key is not stable");
    }
  }
  // Digits are valid as text and as decimal; text strips leading zeros too, so both keys agree.
  if (all_decimal(id)) {
    auto as_text = proxy::canonical_operator_id(id, IdFormat::text);
    auto as_decimal = proxy::canonical_operator_id(id, IdFormat::decimal);
    if (as_decimal && (!as_text || *as_text != *as_decimal)) fail("decimal and text keys of digits differ");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view id = nul == std::string_view::npos ? input : input.substr(0, nul);
  std::string_view text = nul == std::string_view::npos ? input : input.substr(nul + 1);

  (void)proxy::parse_id_format(id);
  check_canonical(id);

  // Finality from the text alone, or from a message_state octet (the id's first byte stands in).
  (void)proxy::receipt_is_final(std::nullopt, text);
  if (!id.empty()) (void)proxy::receipt_is_final(uint8_t(id[0]), text);

  // The id field lies inside the text.
  std::string_view found = proxy::receipt_text_id(text);
  if (!found.empty() && (found.data() < text.data() || found.data() + found.size() > text.data() + text.size()))
    fail("receipt_text_id points outside the text");
  if (found.find(' ') != std::string_view::npos) fail("receipt_text_id includes a space");

  // The relay rewrites the operator's id to ours and the customer reads it back: replacing then
  // reading must give the new id, and change nothing else of the text.
  const std::string ours = "00000000deadbeef";
  std::string replaced = proxy::replace_receipt_text_id(text, ours);
  // SMPP 3.4 appendix B: "id:" starts the text or follows a space.
  const bool has_id = text.starts_with("id:") || text.find(" id:") != std::string_view::npos;
  if (has_id != (found.data() != nullptr)) fail("receipt_text_id disagrees on whether the text has an id");
  if (!has_id) {
    if (replaced != text) fail("text without id: was changed");
  } else {
    if (proxy::receipt_text_id(replaced) != ours) fail("replace then read does not give the new id");
    if (replaced.size() != text.size() - found.size() + ours.size()) fail("replace changed more than the id");
    // Putting the operator's id back restores the text exactly.
    if (proxy::replace_receipt_text_id(replaced, found) != text) fail("replace is not reversible");
  }
  // An id of arbitrary bytes without a space reads back as itself too.
  if (id.find(' ') == std::string_view::npos && has_id) {
    if (proxy::receipt_text_id(proxy::replace_receipt_text_id(text, id)) != id) fail("replace then read, arbitrary id");
  }
  return 0;
}
