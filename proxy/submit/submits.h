// The way out: every customer submit_sm is checked (destination, text, long-message parts),
// decided by the policy, charged against the state store's counters when a stateful rule needs
// it, routed, and answered exactly once; long messages are held until their last part.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/context.h"
#include "proxy/customer/account.h"
#include "proxy/customer/customers.h"
#include "proxy/customer/session.h"
#include "proxy/deliver/deliveries.h"
#include "proxy/deliver/receipt_map.h"
#include "proxy/review/review_stage.h"
#include "proxy/hold/holds.h"
#include "proxy/state/store.h"
#include "proxy/submit/flags.h"
#include "proxy/submit/usage.h"
#include "proxy/upstream/upstreams.h"
#include "smpp/text.h"

namespace proxy {

class Submits final : public SubmitIntake, public SubmitAnswers, public InternalSubmits, public HeldRelay {
 public:
  Submits(Context& ctx, Accounts& accounts, ReceiptMap& receipts);
  void set_review(ReviewStage* review) { review_ = review; }
  void wire(SubmitReplies* replies, Outbound* outbound, DeliverySink* deliveries, Holds* holds = nullptr);
  // HeldRelay: a held message released (proxy/hold/).
  void relay_held(const HeldRecord& record, const policy::Verdict& verdict, bool charged) override;
  void held_failure_receipts(const HeldRecord& record, uint32_t status, std::string_view stat, uint8_t state) override;

  // SubmitIntake: from a customer session, decoded.
  void submit(const SubmitOrigin& from, uint32_t sequence, std::string_view pdu, const smpp::ShortMessageView& sm) override;
  // SubmitAnswers: from the operator side.
  void submit_answered(SubmitPtr submit, uint32_t status, std::string_view operator_id) override;
  void submit_failed(SubmitPtr submit, uint32_t status) override;
  // InternalSubmits: from the deliver stage.
  void send_internal(SubmitPtr submit) override;

  // Every tick: usage to the store; long messages expired, their claims renewed, those of a
  // previous run picked up once (`restore`).
  void on_tick(uint64_t now, bool renew_claims, bool restore);
  void finish();  // shutdown: the last usage flush
  void describe(Snapshot& s) const;

 private:
  void state_checked(SubmitPtr submit, bool ok, policy::Rule failed);
  ReviewStage::Decision review_of(const Account& account, std::string_view sender, std::string_view text,
                                  const policy::Verdict& verdict);
  void under_review(const SubmitOrigin& from, uint32_t sequence, std::string_view pdu, const smpp::ShortMessageView& sm,
                    std::string_view recipient, policy::Verdict verdict, const ReviewStage::Decision& review);
  void route(SubmitPtr submit);
  SubmitPtr answered_part(Account& account, const std::string& destination, const std::string& source,
                          MessageIdAllocator::Id id, uint8_t registered_delivery, const policy::Verdict& verdict,
                          bool charged, bool first);
  void dispatch_parts(std::vector<SubmitPtr> parts);
  void answer(Submit& submit, uint32_t status);
  void refuse(const SubmitOrigin& from, uint32_t sequence, uint32_t status);
  void audit_refusal(const SubmitOrigin& from, const smpp::ShortMessageView& sm, std::string_view recipient,
                     const policy::Verdict& v, std::string_view rule, uint32_t status = 0);
  void audit_answer(const Submit& submit, uint32_t status, std::string_view operator_id);
  // Held messages (proxy/hold/): a verdict `hold` keeps the message before the customer's answer.
  void hold_message(const SubmitOrigin& from, uint32_t sequence, std::string_view pdu, const smpp::ShortMessageView& sm,
                    const std::string& destination, const policy::Verdict& verdict, std::string_view campaign = {});
  void expire_at_once(const SubmitOrigin& from, uint32_t sequence, const HeldRecord& record);
  void hold_long_message(const std::string& held_key, const policy::Verdict& verdict, std::string_view campaign = {});

  // Long messages (long_messages.cc).
  void submit_part(const SubmitOrigin& from, uint32_t sequence, std::string_view pdu, const smpp::ShortMessageView& sm,
                   std::string destination, smpp::Concatenation part);
  void part_kept(uint64_t session_id, uint32_t sequence, MessageIdAllocator::Id id, const std::string& held_key,
                 uint8_t part, bool ok);
  void complete_if_whole(const std::string& held_key);
  void decide_held(const std::string& held_key);
  void held_state_checked(const std::string& held_key, const policy::Verdict& verdict, const policy::StateNeeds& needs,
                          bool ok, policy::Rule failed);
  void forward_held(const std::string& held_key, const policy::Verdict& verdict, bool charged);
  void fail_held(const std::string& held_key, uint32_t status, std::string_view stat, uint8_t state);
  void forget_held(const std::string& held_key);
  void expire_held(uint64_t now_ms);
  void restore_held();
  void pick_up_parts(std::vector<StateStore::HeldPart> parts);
  void renew_held_claims();
  void failure_receipt(const std::string& account, std::string_view id, std::string_view customer_source,
                       std::string_view destination, uint32_t status, std::string_view stat, uint8_t state);

  Context& ctx_;
  Accounts& accounts_;
  ReceiptMap& receipts_;
  SubmitReplies* replies_ = nullptr;
  Outbound* outbound_ = nullptr;
  DeliverySink* deliveries_ = nullptr;
  ReviewStage* review_ = nullptr;  // campaign review; none in unit tests that do not ask for it
  Holds* holds_ = nullptr;
  UsageLedger usage_;
  FlagLedger flags_;  // flagged messages for `hajib report flags`
  std::string text_;  // the decoded text of the submit being decided (reused)
  std::string part_key_, held_key_, blob_;  // a part's keys and the blob the store keeps (reused)
  std::unordered_map<std::string, HeldMessage> held_;  // long messages by account + key
  // Start-up pick-up of held parts, one account at a time, backing off when the store fails.
  struct Restore {
    bool started = false, done = false, busy = false;
    std::vector<std::string> accounts;  // still to read
    uint64_t next_ms = 0, backoff_ms = 0;
  } restore_;
};

}  // namespace proxy
