// What travels through the proxy: a customer's submit on its way out, a receipt or MO on its way back.
#pragma once

#include <cstdint>
#include <string>

#include <map>
#include <memory>
#include <optional>

#include "policy/message.h"
#include "policy/table.h"
#include "proxy/state/reservation.h"
#include "proxy/submit/message_id.h"

namespace proxy {

struct AccountTally;

// The sequence number in a PDU we encode ahead of sending: the session patches the real one in
// when it sends (libsmpp34 refuses 0).
inline constexpr uint32_t kSequenceSetWhenSent = 1;


// One customer submit_sm, from its decode until the customer has its one response.
struct Submit {
  uint64_t customer = 0;  // customer session id; the session may be gone by the time we answer
  uint32_t customer_sequence = 0;
  MessageIdAllocator::Id id{};
  const std::string* account = nullptr;  // points into the hub's account table (accounts never move)
  AccountTally* tally = nullptr;         // that account's figures for the NOC; none for the proxy's own
  std::string destination;               // normalised 9665XXXXXXXX
  std::string pdu;                       // the customer's bytes, destination normalised
  int upstream = -1;
  uint64_t deadline_ms = 0;
  uint64_t sent_us = 0;
  int64_t receipt_expires_s = 0;  // when its receipt mapping may go (its validity_period); 0: the default
  // The decision, and the table that made it: a reload never changes a message in flight.
  std::shared_ptr<const policy::Table> policy;
  policy::Verdict verdict;
  std::string sender;
  // What the state store took for it (awareness allowance, balance), given back if not relayed.
  std::optional<StateReservation> reserved;
  bool internal = false;  // sent by the proxy itself (an opt-out confirmation): no customer to answer
  // A part of a long message: the customer had its answer when the part arrived, so a
  // failure here becomes a failure receipt (docs/long-messages.md).
  bool answered_early = false;
  uint8_t registered_delivery = 0;
  bool counts_as_message = true;  // usage counts a long message once, and each of its parts
  std::string held_id;  // a released held message (proxy/hold/): its record goes once every part is answered
};

// Submits are recycled, not freed: once the spares have grown to the messages in flight, a
// relayed message allocates nothing (its PDU buffer keeps its capacity for the next one).
struct SubmitRecycler {
  void operator()(Submit* submit) const noexcept;
};
using SubmitPtr = std::unique_ptr<Submit, SubmitRecycler>;
// A cleared Submit, from the spares of this thread when there is one.
SubmitPtr new_submit();

// A long message whose parts are arriving (docs/long-messages.md).
struct HeldMessage {
  struct Part {
    MessageIdAllocator::Id id{};
    std::string pdu;  // the customer's bytes, destination normalised
    uint8_t registered_delivery = 0;
  };
  std::string account, key;  // key: source, destination, reference and total, within the account
  std::string source, destination;
  uint8_t total = 0;
  std::map<uint8_t, Part> parts;  // by sequence number: forwarded in this order
  uint64_t deadline_ms = 0;
  size_t bytes = 0;  // counted against the account's limits.long_message_bytes_max
  bool deciding = false;  // complete, and waiting for the state store's answer
};

// One deliver_sm (receipt or MO) for a customer, until the customer acknowledges it.
struct Delivery {
  std::string account;
  std::string key;  // its name in the state store's kept deliveries
  std::string pdu;  // encoded for the customer; the sequence is patched when sent
  bool receipt = false;
  bool kept = false;            // (being) written to the state store: forget it there once acknowledged
  uint64_t upstream_link = 0;   // the operator link waiting for our deliver_sm_resp (0: none)
  uint32_t upstream_sequence = 0;
  uint64_t sent_ms = 0;         // when it went to the customer, for the response timeout
  // A final receipt: its mapping is forgotten once the receipt is kept or acknowledged.
  bool final_receipt = false;
  std::string upstream, operator_id;
};

}  // namespace proxy
