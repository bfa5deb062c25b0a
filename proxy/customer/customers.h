// The customer side as a whole: accepting connections (within caps per address and in all),
// binds (allowlist, bind limit, Argon2 off the loop, lockout of guessers), the bound sessions.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "proxy/context.h"
#include "proxy/customer/account.h"
#include "proxy/customer/bans.h"
#include "proxy/customer/bind_guard.h"
#include "proxy/customer/passwords.h"
#include "proxy/customer/session.h"

namespace proxy {

// A receiver bound: the deliver stage sends it what is kept for its account.
class ReceiverEvents {
 public:
  virtual ~ReceiverEvents() = default;
  virtual void receiver_bound(Account& account) = 0;
};

// The one submit_sm_resp to a customer, to its session by id: false when the session is gone.
class SubmitReplies {
 public:
  virtual ~SubmitReplies() = default;
  virtual bool answer_submit(uint64_t session, uint32_t sequence, uint32_t status, std::string_view message_id) = 0;
};

// A customer session as the admin API lists it.
struct SessionInfo {
  uint64_t id = 0;
  std::string account, peer, bind;
  uint64_t bound_for_ms = 0;
  int in_flight = 0;
};

class Customers final : public BindDesk, public SubmitReplies {
 public:
  Customers(Context& ctx, Accounts& accounts);
  void wire(SubmitIntake* submits, DeliveryReturns* deliveries, ReceiverEvents* receivers);

  void accept(uv_stream_t* listener, std::shared_ptr<const TlsServerContext> tls = nullptr);
  // listen.smpps: the same, with the session speaking TLS under `context` from its first byte.
  void accept_tls(uv_stream_t* listener, std::shared_ptr<const TlsServerContext> context);
  CustomerSession* find_customer(uint64_t session_id);
  bool answer_submit(uint64_t session, uint32_t sequence, uint32_t status, std::string_view message_id) override;

  void describe(Snapshot& s) const;
  bool idle() const;  // no submit of theirs unanswered
  bool none() const { return sessions_.empty(); }
  size_t unbind_all();  // shutdown; returns the sessions told
  void for_each_session(const std::function<void(Connection&)>& fn);
  // The state store caught up: every session is read again.
  void resume_intake();

  // The admin API's controls (proxy/admin/). kick: unbind (then close) a session; false if none.
  std::vector<SessionInfo> sessions() const;
  bool kick(uint64_t session_id);
  // No bind for `key` until `until_ms` (loop clock); its open sessions are kicked. Returns how
  // many, or nullopt when Bans::kMax are in force.
  std::optional<size_t> ban(BanKind kind, const std::string& key, uint64_t until_ms);
  bool unban(const std::string& key) { return bans_.remove(key, ctx_.now_ms()); }
  std::vector<Bans::Ban> bans() { return bans_.in_force(ctx_.now_ms()); }

  // BindDesk
  void authorize(CustomerSession& session, const smpp::Bind& bind, uint32_t sequence) override;
  void session_closed(CustomerSession& session) override;
  void admit(CustomerSession& session) override;

 private:
  bool from_balancer(const CustomerSession& session) const;
  bool banned(const CustomerSession& session, const std::string& account) const;
  void password_checked(uint64_t session_id, const std::string& address, const std::string& account, uint32_t sequence, bool ok);
  void accept_bind(CustomerSession& session, Account& account, uint32_t sequence);
  void refuse_bind(CustomerSession& session, std::string_view system_id, uint64_t& reason, uint32_t status,
                   std::string_view why, uint32_t sequence);

  Context& ctx_;
  Accounts& accounts_;
  CustomerWiring wiring_;
  ReceiverEvents* receivers_ = nullptr;
  CustomerLimits limits_;
  BindGuard address_guard_;  // failed binds per remote address
  BindGuard account_guard_;  // failed binds per account, from any address
  BindVerifier verifier_;
  Bans bans_;
  std::unordered_map<std::string, int> connections_per_address_;  // open customer connections by IP
  std::unordered_map<uint64_t, std::unique_ptr<CustomerSession>> sessions_;
};

}  // namespace proxy
