// Test helper: one stage built alone on its own loop, with fakes of its neighbours (Envoy's way).
// A World holds the loop, a Context from a small YAML config, a recording memory store, the
// accounts and the receipt map; the fakes record what a stage asks of its neighbours.
#pragma once

#include <catch2/catch.hpp>

#include <unistd.h>
#include <uv.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "proxy/context.h"
#include "proxy/customer/account.h"
#include "proxy/customer/customers.h"
#include "proxy/customer/session.h"
#include "proxy/deliver/deliveries.h"
#include "proxy/deliver/receipt_map.h"
#include "proxy/flow.h"
#include "proxy/net/deferred.h"
#include "proxy/state/store.h"
#include "proxy/upstream/upstreams.h"
#include "smpp/codec.h"
#include "smpp/pdu_view.h"
#include "smpp/protocol.h"

namespace stage_fakes {

inline constexpr const char* kPasswordHash =
    "$argon2id$v=19$m=16384,t=3,p=1$KPp0qP74xOx/MV3f6tQNPw$BFbPvsHhaEZECTbO+UB4ptytLCejhsZf2dsKLE1Rgd8";

// 2026-06-01 10:00 Saudi time (07:00 UTC): daytime, outside Ramadan, so time rules pass.
inline constexpr int64_t kDaytime = 1780297200;

// A config from YAML text, through the real loader (a temp file, removed at once).
inline proxy::Config load_yaml(const std::string& yaml) {
  static int counter = 0;
  auto path = std::filesystem::temp_directory_path() /
              ("hajib-stage-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".yaml");
  std::ofstream(path) << yaml;
  std::vector<proxy::ConfigError> errors;
  auto config = proxy::load_config(path.string(), errors);
  std::filesystem::remove(path);
  for (const auto& e : errors) UNSCOPED_INFO(e.to_string());
  REQUIRE(config);
  return std::move(*config);
}

// ---- a state store: the memory store, with what the stages ask of it recorded ----

class RecordingStore final : public proxy::StateStore {
 public:
  struct Usage {
    std::string account, message_class;
    int64_t minute = 0;  // unix seconds / 60
    int messages = 0, parts = 0;
    uint64_t batch = 0;
  };
  std::vector<Usage> usage;
  struct Flags {
    std::string account;
    int64_t day = 0;
    std::string rule;
    int count = 0;
    std::vector<std::string> examples;
  };
  std::vector<Flags> flags;
  int reservations = 0, releases = 0, kept = 0, held = 0;
  // Ported numbers as `hajib ports` would have loaded them (the memory store has none).
  std::optional<std::string> ported_version_value;
  std::vector<std::pair<std::string, std::string>> ported;
  int ported_reads = 0;

  explicit RecordingStore(uv_loop_t* loop) : inner_(proxy::make_memory_store(loop)), deferred_(loop) {}
  proxy::StateStore& inner() { return *inner_; }

  void remember_receipt(std::string_view u, std::string_view id, std::string_view v, int64_t e, Done d) override {
    inner_->remember_receipt(u, id, v, e, std::move(d));
  }
  void find_receipt(std::string_view u, std::string_view id, Found d) override { inner_->find_receipt(u, id, std::move(d)); }
  void forget_receipt(std::string_view u, std::string_view id) override { inner_->forget_receipt(u, id); }
  void sweep_receipts() override { inner_->sweep_receipts(); }
  void on_back(std::function<void(bool)> fn) override { inner_->on_back(std::move(fn)); }
  void keep_delivery(std::string_view a, std::string_view k, std::string_view p, int max, int ttl, Done d) override {
    ++kept;
    inner_->keep_delivery(a, k, p, max, ttl, std::move(d));
  }
  void kept_deliveries(std::string_view a, int max, Listed d) override { inner_->kept_deliveries(a, max, std::move(d)); }
  void forget_delivery(std::string_view a, std::string_view k) override { inner_->forget_delivery(a, k); }
  void ported_version(Found done) override {
    deferred_.post([this, done = std::move(done)] { done(true, ported_version_value); });
  }
  void ported_numbers(Listed done) override {
    ++ported_reads;
    deferred_.post([this, done = std::move(done)] { done(true, ported); });
  }
  void reserve(const Reservation& r, Checked d) override {
    ++reservations;
    inner_->reserve(r, std::move(d));
  }
  void release(const Reservation& r) override {
    ++releases;
    inner_->release(r);
  }
  void count_usage(std::string_view account, int64_t minute, std::string_view cls, int messages, int parts,
                   std::string_view instance, uint64_t batch, Done d) override {
    usage.push_back({std::string(account), std::string(cls), minute, messages, parts, batch});
    inner_->count_usage(account, minute, cls, messages, parts, instance, batch, std::move(d));
  }
  void set_opted_out(std::string_view a, std::string_view n, bool out, Done d) override {
    inner_->set_opted_out(a, n, out, std::move(d));
  }
  void volume_figures(std::string_view a, int64_t unix_s, int window_min, std::function<void(bool, VolumeFigures)> d) override {
    inner_->volume_figures(a, unix_s, window_min, std::move(d));
  }
  void count_flags(std::string_view a, int64_t day, std::string_view rule, int count, const std::vector<std::string>& examples,
                   Done d) override {
    flags.push_back({std::string(a), day, std::string(rule), count, examples});
    inner_->count_flags(a, day, rule, count, examples, std::move(d));
  }
  void hold_part(std::string_view a, std::string_view m, std::string_view p, std::string_view b, int ttl,
                 std::string_view owner, Done d) override {
    ++held;
    inner_->hold_part(a, m, p, b, ttl, owner, std::move(d));
  }
  void renew_claim(std::string_view a, std::string_view m, std::string_view o) override { inner_->renew_claim(a, m, o); }
  void forget_held(std::string_view a, std::string_view m) override { inner_->forget_held(a, m); }
  void held_parts(std::string_view o, std::string_view a, std::function<void(bool, std::vector<HeldPart>)> d) override {
    inner_->held_parts(o, a, std::move(d));
  }
  // Held messages (proxy/hold/): kept by the memory store; how many each claim asked for, recorded.
  std::vector<int> due_limits;
  void hold_message(const proxy::HeldRecord& r, int64_t max_messages, int64_t max_bytes, int ttl_s, Held d) override {
    inner_->hold_message(r, max_messages, max_bytes, ttl_s, std::move(d));
  }
  void due_held(std::string_view a, int64_t now_s, int limit, std::string_view owner, Due d) override {
    due_limits.push_back(limit);
    inner_->due_held(a, now_s, limit, owner, std::move(d));
  }
  void renew_hold_lease(std::string_view a, std::string_view id, std::string_view o) override { inner_->renew_hold_lease(a, id, o); }
  void held_done(std::string_view a, std::string_view id) override { inner_->held_done(a, id); }
  void held_count(std::string_view a, std::function<void(bool, int64_t)> d) override { inner_->held_count(a, std::move(d)); }
  // The campaign book (proxy/review/) as a stage sees it: notes recorded, decisions as set here.
  struct Noted {
    std::string account, campaign, sender, template_text, example;
    std::vector<std::string> links;
    int64_t now_s = 0, pending_s = 0;
  };
  struct Expiry {
    std::vector<std::string> accounts;
    int64_t now_s = 0, cutoff_s = 0, until_s = 0;
  };
  std::vector<Noted> noted;
  std::optional<std::string> review_version_value;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> decided;  // account -> ("ID STATE", until)
  std::vector<Expiry> expiries;
  int decided_reads = 0;
  bool keeps_campaigns() const override { return true; }
  void note_campaign(const CampaignNote& n) override {
    noted.push_back({std::string(n.account), std::string(n.campaign), std::string(n.sender), std::string(n.template_text),
                     std::string(n.example), n.links ? *n.links : std::vector<std::string>{}, n.now_s, n.pending_s});
  }
  void review_version(Found done) override {
    deferred_.post([this, done = std::move(done)] { done(true, review_version_value); });
  }
  void decided_campaigns(std::string_view account, int64_t, Listed done) override {
    ++decided_reads;
    deferred_.post([this, account = std::string(account), done = std::move(done)] { done(true, decided[account]); });
  }
  void expire_campaigns(std::string_view, const std::vector<std::string>& accounts, int64_t now_s, int64_t cutoff_s,
                        int64_t until_s, Listed done) override {
    expiries.push_back({accounts, now_s, cutoff_s, until_s});
    deferred_.post([done = std::move(done)] { done(true, {}); });
  }

  bool up() const override { return inner_->up(); }
  std::string describe() const override { return "recording " + inner_->describe(); }
  void close() override {
    inner_->close();
    deferred_.close();
  }

 private:
  std::unique_ptr<proxy::StateStore> inner_;
  proxy::Deferred deferred_;
};

// ---- the world a stage lives in ----

struct World {
  uv_loop_t loop{};
  uv_timer_t pulse{};  // wakes UV_RUN_ONCE regularly, so that run_until can check its deadline
  std::unique_ptr<proxy::Context> ctx;
  std::unique_ptr<RecordingStore> store;
  proxy::Accounts accounts;
  std::unique_ptr<proxy::ReceiptMap> receipts;

  explicit World(const std::string& yaml, uint32_t instance = 0xA) {
    uv_loop_init(&loop);
    uv_timer_init(&loop, &pulse);
    ctx = std::make_unique<proxy::Context>(&loop, load_yaml(yaml), instance);
    ctx->frozen_clock = kDaytime;
    store = std::make_unique<RecordingStore>(&loop);
    ctx->store = store.get();
    for (const auto& [name, account] : ctx->config.accounts) {  // as the hub fills them
      accounts[name].name = name;
      accounts[name].config = account;
    }
    const proxy::Limits& l = ctx->config.limits;
    receipts = std::make_unique<proxy::ReceiptMap>(
        *store, ctx->counters(),
        proxy::ReceiptMap::Limits{size_t(l.receipt_map_local_max), uint64_t(l.receipt_map_hold_s) * 1000,
                                  uint64_t(l.unknown_receipt_retry_s) * 1000});
  }
  World(const World&) = delete;

  ~World() {
    store->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&pulse), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);  // every handle closed: nothing leaked on the loop
  }

  proxy::Counters& counters() { return ctx->counters(); }
  proxy::Account& account(const std::string& name) { return accounts.at(name); }

  // Runs what is ready now (the store's deferred answers, and what they start), never waiting.
  void settle() {
    for (int i = 0; i < 10; ++i) uv_run(&loop, UV_RUN_NOWAIT);
  }
  // Runs the loop until `done` holds; false when `limit_ms` of loop time passed first.
  bool run_until(const std::function<bool()>& done, uint64_t limit_ms = 3000) {
    uv_update_time(&loop);
    uint64_t deadline = uv_now(&loop) + limit_ms;
    uv_timer_start(&pulse, [](uv_timer_t*) {}, 5, 5);
    bool ok = true;
    while (!done()) {
      if (uv_now(&loop) >= deadline) {
        ok = false;
        break;
      }
      uv_run(&loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&pulse);
    return ok;
  }
};

// ---- PDUs ----

inline std::string encode(smpp::Command kind, const smpp::ShortMessage& sm, uint32_t sequence = proxy::kSequenceSetWhenSent) {
  std::string pdu;
  smpp::encode_short_message(pdu, kind, sequence, sm);
  return pdu;
}

inline smpp::ShortMessage decode(std::string_view pdu) {
  smpp::ShortMessage sm;
  smpp::DecodeError error;
  INFO(error.reason);
  REQUIRE(smpp::decode_short_message(pdu, sm, error));
  return sm;
}

// The PDU read in place, as a customer session hands a submit_sm to the submit stage.
inline smpp::ShortMessageView view_of(std::string_view pdu) {
  smpp::ShortMessageView sm;
  smpp::DecodeError error;
  INFO(error.reason);
  REQUIRE(smpp::read_short_message(pdu, sm, error));
  return sm;
}

inline smpp::Header header_of(std::string_view pdu) { return smpp::read_header(reinterpret_cast<const uint8_t*>(pdu.data())); }

// The PDUs in a byte stream, split by command_length.
inline std::vector<std::string> split_pdus(std::string_view bytes) {
  std::vector<std::string> pdus;
  while (bytes.size() >= smpp::kHeaderSize) {
    uint32_t length = header_of(bytes).length;
    REQUIRE(length >= smpp::kHeaderSize);
    REQUIRE(length <= bytes.size());
    pdus.emplace_back(bytes.substr(0, length));
    bytes.remove_prefix(length);
  }
  REQUIRE(bytes.empty());
  return pdus;
}

inline bool is_our_message_id(std::string_view id) {
  return id.size() == 16 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// ---- fakes of the neighbours ----

// The operator side as the submit stage sees it: routes from a prefix table, records dispatches.
class FakeOutbound final : public proxy::Outbound {
 public:
  std::map<std::string, int> prefixes;  // destination prefix -> upstream index
  std::vector<proxy::SubmitPtr> dispatched;
  struct InOrder {
    int upstream = -1;
    std::vector<proxy::SubmitPtr> parts;
  };
  std::vector<InOrder> dispatched_in_order;

  std::optional<int> route(const std::string& destination) const override {
    for (const auto& [prefix, upstream] : prefixes)
      if (destination.starts_with(prefix)) return upstream;
    return std::nullopt;
  }
  void dispatch(proxy::SubmitPtr submit) override { dispatched.push_back(std::move(submit)); }
  void dispatch_in_order(int upstream, std::vector<proxy::SubmitPtr> parts) override {
    // As Upstreams does: the submit stage leaves a part's upstream to the operator side, and
    // Submits::submit_answered indexes the configured upstreams with it.
    for (auto& p : parts) p->upstream = upstream;
    dispatched_in_order.push_back({upstream, std::move(parts)});
  }
  proxy::SubmitPtr take() {
    REQUIRE_FALSE(dispatched.empty());
    auto s = std::move(dispatched.front());
    dispatched.erase(dispatched.begin());
    return s;
  }
};

// The customers stage as the submit stage sees it: records every submit_sm_resp; a session in
// `gone` has closed.
class FakeReplies final : public proxy::SubmitReplies {
 public:
  struct Reply {
    uint64_t session = 0;
    uint32_t sequence = 0, status = 0;
    std::string message_id;
  };
  std::vector<Reply> replies;
  std::set<uint64_t> gone;

  bool answer_submit(uint64_t session, uint32_t sequence, uint32_t status, std::string_view message_id) override {
    if (gone.count(session)) return false;
    replies.push_back({session, sequence, status, std::string(message_id)});
    return true;
  }
  std::vector<Reply> to(uint32_t sequence) const {
    std::vector<Reply> out;
    for (const auto& r : replies)
      if (r.sequence == sequence) out.push_back(r);
    return out;
  }
};

class FakeDeliverySink final : public proxy::DeliverySink {
 public:
  std::vector<std::unique_ptr<proxy::Delivery>> routed;
  void route_delivery(std::unique_ptr<proxy::Delivery> d) override { routed.push_back(std::move(d)); }
};

class FakeAcks final : public proxy::OperatorAcks {
 public:
  struct Ack {
    uint64_t link = 0;
    uint32_t sequence = 0, status = 0;
  };
  std::vector<Ack> acks;
  void acknowledge(uint64_t link, uint32_t sequence, uint32_t status) override { acks.push_back({link, sequence, status}); }
};

class FakeInternalSubmits final : public proxy::InternalSubmits {
 public:
  std::vector<proxy::SubmitPtr> sent;
  void send_internal(proxy::SubmitPtr s) override { sent.push_back(std::move(s)); }
};

// A bound receiver of deliver_sm: as much room as the test gives it; keeps what it is handed.
class FakeReceiver final : public proxy::Receiver {
 public:
  explicit FakeReceiver(int room_ = 10) : room(room_) {}
  int room;
  std::vector<std::unique_ptr<proxy::Delivery>> got;
  int delivery_room() const override { return room; }
  void deliver(std::unique_ptr<proxy::Delivery> d) override { got.push_back(std::move(d)); }
  std::unique_ptr<proxy::Delivery> take() {
    REQUIRE_FALSE(got.empty());
    auto d = std::move(got.front());
    got.erase(got.begin());
    return d;
  }
};

// The submit stage as the operator side sees it.
class FakeSubmitAnswers final : public proxy::SubmitAnswers {
 public:
  struct Answer {
    proxy::SubmitPtr submit;
    uint32_t status = 0;
    std::string operator_id;
  };
  std::vector<Answer> answered;
  std::vector<Answer> failed;
  void submit_answered(proxy::SubmitPtr s, uint32_t status, std::string_view operator_id) override {
    answered.push_back({std::move(s), status, std::string(operator_id)});
  }
  void submit_failed(proxy::SubmitPtr s, uint32_t status) override { failed.push_back({std::move(s), status, ""}); }
};

// The deliver stage as the operator side sees it.
class FakeOperatorDeliveries final : public proxy::OperatorDeliveries {
 public:
  struct Delivered {
    proxy::LinkRef from;
    uint32_t sequence = 0;
    smpp::ShortMessage sm;
  };
  std::vector<Delivered> delivered;
  void operator_delivered(const proxy::LinkRef& from, uint32_t sequence, smpp::ShortMessage sm) override {
    delivered.push_back({from, sequence, std::move(sm)});
  }
};

}  // namespace stage_fakes
