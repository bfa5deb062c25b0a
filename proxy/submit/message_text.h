// The text of a submit_sm as the policy reads it: payload chosen, UDH skipped, decoded to UTF-8.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "smpp/pdu.h"
#include "smpp/pdu_view.h"
#include "smpp/text.h"

namespace proxy {

enum class TextResult { ok, not_inspectable, bad_udh };

// Fills `utf8` with the message text: message_payload if present, else short_message, without
// its user data header (esm_class 0x40), decoded from data_coding.
TextResult message_text(const smpp::ShortMessage& sm, const smpp::TextOptions& options, std::string& utf8);
TextResult message_text(const smpp::ShortMessageView& sm, const smpp::TextOptions& options, std::string& utf8);

// The whole text of a long message, added part by part in order (each the customer's submit_sm);
// not inspectable once one part cannot be read.
struct WholeText {
  explicit WholeText(const smpp::TextOptions& options) : options(options) {}
  void add(std::string_view pdu);
  const smpp::TextOptions& options;
  std::string text;
  bool inspectable = true;

 private:
  std::string part_;
};

// The part of a long message this submit_sm is, from its UDH (esm_class 0x40) or its SAR TLVs;
// nullopt for a whole message (total 1 included). `malformed` is set for a broken UDH or SAR.
std::optional<smpp::Concatenation> concatenation_of(const smpp::ShortMessage& sm, bool& malformed);
std::optional<smpp::Concatenation> concatenation_of(const smpp::ShortMessageView& sm, bool& malformed);

}  // namespace proxy
