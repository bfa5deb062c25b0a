// The way back: operators' receipts (their ids mapped to ours) and MOs (to the account that owns
// the number), kept in the state store and handed to the account's receivers; the operator is
// answered once either the store kept it or the customer acknowledged it.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "proxy/context.h"
#include "proxy/customer/account.h"
#include "proxy/customer/customers.h"
#include "proxy/customer/session.h"
#include "proxy/deliver/receipt_map.h"
#include "proxy/upstream/session.h"
#include "proxy/upstream/upstreams.h"

namespace proxy {

// Messages the proxy sends on its own (opt-out confirmations): the submit stage routes them.
class InternalSubmits {
 public:
  virtual ~InternalSubmits() = default;
  virtual void send_internal(SubmitPtr submit) = 0;
};

// Deliveries made by the proxy itself (failure receipts of long messages) join the way back here.
class DeliverySink {
 public:
  virtual ~DeliverySink() = default;
  virtual void route_delivery(std::unique_ptr<Delivery> delivery) = 0;
};

class Deliveries final : public OperatorDeliveries, public DeliveryReturns, public DeliverySink, public ReceiverEvents {
 public:
  Deliveries(Context& ctx, Accounts& accounts, ReceiptMap& receipts);
  void wire(OperatorAcks* acks, InternalSubmits* internal);

  void operator_delivered(const LinkRef& from, uint32_t sequence, smpp::ShortMessage sm) override;
  void delivery_acknowledged(std::unique_ptr<Delivery> delivery, uint32_t status) override;
  void delivery_undelivered(std::unique_ptr<Delivery> delivery, bool timed_out) override;
  void route_delivery(std::unique_ptr<Delivery> delivery) override;
  void receiver_bound(Account& account) override;
  void on_tick(uint64_t now);  // kept deliveries for receivers with room

 private:
  void relay_receipt(const LinkRef& from, uint32_t sequence, smpp::ShortMessage sm);
  void relay_mo(const LinkRef& from, uint32_t sequence, smpp::ShortMessage sm);
  void see_opt_out_word(const std::string& account, const smpp::ShortMessage& mo);
  void send_confirmation(const std::string& account, const std::string& number, policy::OptOutWord word,
                         policy::Language language);
  void delivery_kept(const std::string& account, const std::string& key, bool ok);
  void answer_operator(const std::string& key, uint32_t status);
  void delivery_handed_on(const Delivery& delivery);
  Receiver* receiver_with_room(Account& account);
  void fetch_kept_deliveries(Account& account, uint64_t now);

  Context& ctx_;
  Accounts& accounts_;
  ReceiptMap& receipts_;
  OperatorAcks* acks_ = nullptr;
  InternalSubmits* internal_ = nullptr;
  // Deliveries whose operator waits for our deliver_sm_resp, by delivery key: answered once the
  // store kept it or the customer acknowledged it, whichever comes first.
  struct OperatorWait {
    uint64_t link = 0;
    uint32_t sequence = 0;
    bool keep_failed = false;
  };
  std::unordered_map<std::string, OperatorWait> operator_waits_;
  std::string text_;  // an MO's decoded text (reused)
};

}  // namespace proxy
