// What the policy decides on and what it answers: a whole message, a moment, a verdict.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace policy {

enum class MessageClass : uint8_t { promotional, service, awareness, warning, personal };
inline constexpr std::array<std::string_view, 5> kClassNames = {"promotional", "service", "awareness", "warning", "personal"};
inline std::string_view name(MessageClass c) { return kClassNames[size_t(c)]; }

enum class Entity : uint8_t { government, private_entity, individual, foreign };
inline constexpr std::array<std::string_view, 4> kEntityNames = {"government", "private", "individual", "foreign"};
inline std::string_view name(Entity e) { return kEntityNames[size_t(e)]; }

enum class Rule : uint8_t {
#define X(name, id, action, status, what, source) name,
#include "policy/rules.def"
#undef X
  count,
  none = count
};
std::string_view rule_id(Rule r);  // "time.quiet_hours"; "" for Rule::none
// Rules the state store decides (docs/state.md), after every stateless one.
inline bool is_stateful(Rule r) { return r >= Rule::account_throughput && r < Rule::count; }
// Rules the campaign review decides (proxy/review/), after the policy's own and before the state store's.
inline bool is_review(Rule r) { return r == Rule::campaign_rejected || r == Rule::campaign_expired; }

// hold: only for the time rules (the message waits for its window; docs/policy.md, Held messages).
enum class Action : uint8_t { reject, flag, off, hold };

// How the message reached us. Every customer bind is system-to-system (REGULATIONS 7).
enum class Channel : uint8_t { smpp_bind };

struct Message {
  std::string_view account;      // system_id
  std::string_view source;       // source_addr as the customer sent it
  std::string_view destination;  // normalised 9665XXXXXXXX
  std::string_view text;         // the whole message in UTF-8 (all parts)
  bool text_inspectable = true;  // false for binary / 8-bit codings
  int parts = 1;
  // false for a part of a long message answered before the rest arrives: only the rules that
  // need no text are decided then (docs/long-messages.md).
  bool whole_text = true;
};

struct Context {
  int64_t unix_seconds = 0;  // the moment of the decision; Saudi time is UTC+3, no DST
  Channel channel = Channel::smpp_bind;
};

enum class Outcome : uint8_t { accept, flag, reject, hold };
inline constexpr std::array<std::string_view, 4> kOutcomeNames = {"accept", "flag", "reject", "hold"};
inline std::string_view name(Outcome o) { return kOutcomeNames[size_t(o)]; }

struct Verdict {
  Outcome outcome = Outcome::accept;
  Rule rule = Rule::none;  // the rule that refused or held, or the first that flagged
  // The SMPP command_status for the customer: 0 unless refused; for a hold, the time rule's
  // status, which the customer gets if the message cannot be held (over the account's bound).
  uint32_t status = 0;
  MessageClass message_class = MessageClass::service;
  uint32_t flagged = 0;    // bit per Rule that flagged
  // A hold: when the message may go (the instant its window opens); 0 for an open-ended hold
  // (released by someone, e.g. a campaign review).
  int64_t hold_until_s = 0;
  bool accepted() const { return outcome != Outcome::reject; }
  bool held() const { return outcome == Outcome::hold; }
};

// For `hajib explain`: what each rule said.
struct Trace {
  enum class Result : uint8_t { passed, failed, not_applicable, off };
  std::array<Result, size_t(Rule::count)> results{};
  std::array<std::string_view, size_t(Rule::count)> notes{};  // static strings: why
};

}  // namespace policy
