// Operator message ids as keys: the same message, whatever form the operator writes its id in.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace proxy {

// How an operator writes its ids: in submit_sm_resp, and again in receipts (some use hex in one
// and decimal in the other).
enum class IdFormat { text, hex, decimal };
std::optional<IdFormat> parse_id_format(std::string_view name);

// A canonical key for an operator id: hex and decimal ids become their decimal value (so
// case and leading zeros do not matter); text ids are lowercased with leading zeros removed.
// nullopt for an empty id or digits that do not fit the format.
std::optional<std::string> canonical_operator_id(std::string_view id, IdFormat format);

// The value after "id:" in a receipt's text (SMPP 3.4 appendix B), or empty.
std::string_view receipt_text_id(std::string_view text);
// The text with the value after "id:" replaced, or the text unchanged if it has no "id:".
std::string replace_receipt_text_id(std::string_view text, std::string_view new_id);

// Whether a receipt reports a final state (delivered, expired, deleted, undeliverable, rejected),
// after which no other receipt follows: from the message_state TLV when present (SMPP 3.4
// section 5.2.28), else from "stat:" in the text. ENROUTE, ACCEPTD and UNKNOWN are not final.
bool receipt_is_final(std::optional<uint8_t> message_state, std::string_view text);

}  // namespace proxy
