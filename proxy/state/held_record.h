// A held message as the state store keeps it (quiet hours, review): what it is, why and until when
// it waits, and the customer's PDUs; the same fields in Redis' hash and in the memory store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace proxy {

struct HeldRecord {
  std::string account;
  std::string id;      // our message id (the first part's, for a long message): its name in the store
  std::string reason;  // quiet | review
  std::string campaign;  // review: the campaign it waits for; "" otherwise
  int64_t release_at = 0;  // unix s; 0: until released by someone
  int64_t expires = 0;     // its validity_period's end, unix s; 0: none given
  int64_t held_at = 0;
  std::string source, destination;  // as the customer sent it; normalised
  uint8_t registered_delivery = 0;  // the first part's
  std::string message_class;
  bool dropped = false;  // `hajib held drop`: a failure receipt, not a relay
  struct Part {
    std::string id;   // our message id for this part (16 characters)
    std::string pdu;  // the customer's bytes, destination normalised
  };
  std::vector<Part> parts;  // in order

  size_t bytes() const;
  // The hash's fields and values, and back (false when a record is unreadable).
  std::vector<std::pair<std::string, std::string>> fields() const;
  bool read(std::string_view account, std::string_view id, const std::vector<std::pair<std::string, std::string>>& fields);
};

}  // namespace proxy
