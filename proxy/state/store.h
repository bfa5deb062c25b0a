// Cross-message state shared by every proxy instance: receipt id map, kept deliveries, ported numbers.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/message.h"
#include "policy/table.h"
#include "proxy/config/config.h"
#include "proxy/state/held_record.h"
#include "proxy/state/keys.h"
#include "proxy/state/reservation.h"

namespace proxy {

struct Counters;


// Every call is asynchronous; callbacks run later on the loop thread, never inline, and are
// given `ok == false` when the store could not answer (down, error), so that callers choose
// their degraded behaviour. Keys share one hash tag per account so that Redis Cluster works.
class StateStore {
 public:
  using Done = std::function<void(bool ok)>;
  using Found = std::function<void(bool ok, std::optional<std::string> value)>;
  using Listed = std::function<void(bool ok, std::vector<std::pair<std::string, std::string>> items)>;

  virtual ~StateStore() = default;

  // ---- receipt mappings: an operator's message id -> "account\tour id" (see ReceiptMap) ----
  // Kept until `expires_unix_s` (the message's validity, else limits.receipt_map_ttl_s) or until
  // forgotten once its final receipt was handed on. `done(true)` once the store has it.
  virtual void remember_receipt(std::string_view upstream, std::string_view operator_id, std::string_view value,
                                int64_t expires_unix_s, Done done) = 0;
  // Many at once (one loop turn's worth), pipelined; `done` once: true when the store has them all.
  struct ReceiptMapping {
    std::string_view upstream, operator_id, value;
    int64_t expires_unix_s = 0;
  };
  virtual void remember_receipts(const std::vector<ReceiptMapping>& mappings, Done done);
  virtual void find_receipt(std::string_view upstream, std::string_view operator_id, Found done) = 0;
  virtual void forget_receipt(std::string_view upstream, std::string_view operator_id) = 0;
  static constexpr int64_t kReceiptMappingMaxS = 30 * 86400;  // the longest life a validity_period gives one
  // Called every tick: drops the expired mappings of a few buckets, all of them every few minutes.
  virtual void sweep_receipts() = 0;
  // Runs each time the store is reachable again after an outage; `lost` when it came back
  // without its data (a Redis restarted with no persistence).
  virtual void on_back(std::function<void(bool lost)> fn) = 0;

  // Deliveries (receipts, MOs) kept for an account that has no receiver bound. put answers
  // false when the account already has `max` kept or the store is down.
  virtual void keep_delivery(std::string_view account, std::string_view key, std::string_view pdu, int max, int ttl_s,
                             Done done) = 0;
  // Some of them: at least `max` when it holds that many (and at most twice as many).
  virtual void kept_deliveries(std::string_view account, int max, Listed done) = 0;
  virtual void forget_delivery(std::string_view account, std::string_view key) = 0;

  // Ported numbers are read whole and kept in the proxy's memory, reloaded when their version
  // (bumped by `hajib ports`) changes: routing then costs no round trip per message.
  virtual void ported_version(Found done) = 0;
  virtual void ported_numbers(Listed done) = 0;

  // ---- the stateful rules (docs/state.md), in one atomic step per message ----
  using Reservation = StateReservation;
  // Checks and takes in one step: a throughput token, the opt-out list, an awareness allowance,
  // balance for every part. `failed` is the rule that refused (Rule::none when all passed).
  using Checked = std::function<void(bool ok, policy::Rule failed)>;
  virtual void reserve(const Reservation& r, Checked done) = 0;
  // Gives back the awareness allowance and the balance of a message that was not relayed.
  virtual void release(const Reservation& r) = 0;
  // Adds to the billing tallies once per batch: `batch` numbers grow with each batch an
  // `instance` sends, so one sent again after a failure whose outcome was unknown is not counted
  // twice. `done(true)` once counted. The tallies of one minute (unix seconds / 60) also feed the
  // volume watch: the account's messages per Saudi hour and per minute.
  virtual void count_usage(std::string_view account, int64_t unix_minute, std::string_view message_class, int messages,
                           int parts, std::string_view instance, uint64_t batch, Done done) = 0;
  // What the volume watch judges an account by at `unix_s` (docs/policy.md, Volume monitoring).
  struct VolumeFigures {
    int64_t today = 0;             // messages of this Saudi day
    int64_t same_hour_before = 0;  // messages of this Saudi hour, summed over the 7 days before
    int64_t recent = 0;            // messages of the last `window_min` minutes, this one included
    int64_t first_day = -1;        // the Saudi day the account was first counted; -1: none kept
  };
  virtual void volume_figures(std::string_view account, int64_t unix_s, int window_min,
                              std::function<void(bool ok, VolumeFigures figures)> done) = 0;
  // Flagged messages (`hajib report flags`): `count` more for `rule` on the account's Saudi day,
  // and the masked `examples` kept while the day has fewer than keys::kFlagExamples for the rule.
  virtual void count_flags(std::string_view account, int64_t saudi_day, std::string_view rule, int count,
                           const std::vector<std::string>& examples, Done done) = 0;
  virtual void set_opted_out(std::string_view account, std::string_view number, bool opted_out, Done done) = 0;

  // ---- parts of long messages waiting for the rest (docs/long-messages.md) ----
  // Holding a part also claims the message for `owner` (an instance) for a few seconds; the
  // holder renews its claims while it waits, so that only a message whose holder is gone is
  // picked up by another (or a restarted) instance.
  virtual void hold_part(std::string_view account, std::string_view message, std::string_view part, std::string_view blob,
                         int ttl_s, std::string_view owner, Done done) = 0;
  virtual void renew_claim(std::string_view account, std::string_view message, std::string_view owner) = 0;
  virtual void forget_held(std::string_view account, std::string_view message) = 0;
  struct HeldPart {
    std::string account, message, part, blob;
  };
  // The parts of the account's messages that no live instance holds (or `owner` holds), claimed
  // for `owner`. Read from the account's index of held messages: the work is proportional to
  // what is held, never to the size of the keyspace.
  virtual void held_parts(std::string_view owner, std::string_view account,
                          std::function<void(bool ok, std::vector<HeldPart> parts)> done) = 0;

  // ---- campaign review (proxy/review/, docs/state.md) ----
  // Only a store that keeps a campaign book (Redis) answers the calls below; the others are not
  // made when keeps_campaigns() is false (in memory every reviewed campaign stays pending).
  virtual bool keeps_campaigns() const { return false; }
  struct CampaignNote {
    std::string_view account, campaign, sender, template_text, example;
    const std::vector<std::string>* links = nullptr;
    int64_t now_s = 0;
    int64_t pending_s = 0;  // how long the record lives while pending (its expiry runs before)
  };
  // A held message of an undecided campaign: written in one step, pipelined, never answered.
  virtual void note_campaign(const CampaignNote&) {}
  // The version every decision bumps (`hajib review`, the expiry): polled like ported_version.
  virtual void review_version(Found) {}
  // An account's decided campaigns that have not lapsed at now_s: ("ID STATE", until) pairs.
  virtual void decided_campaigns(std::string_view, int64_t, Listed) {}
  // Under a short lock (one instance at a time; `done(true, {})` without the lock): the pending
  // campaigns of `accounts` first seen at or before cutoff_s become expired until until_s, and the
  // version is bumped if any did. `done` gets the (account, id) pairs expired.
  virtual void expire_campaigns(std::string_view /*owner*/, const std::vector<std::string>& /*accounts*/,
                                int64_t /*now_s*/, int64_t /*cutoff_s*/, int64_t /*until_s*/, Listed) {}
  // ---- held messages (quiet hours, review; docs/state.md) ----
  // Keeps one, within the account's bound (limits.held_messages_max and held_bytes_max, counted
  // in the same step): `held` false when over it. Holding the same id again changes nothing.
  using Held = std::function<void(bool ok, bool held)>;
  virtual void hold_message(const HeldRecord& record, int64_t max_messages, int64_t max_bytes, int ttl_s, Held done) {
    (void)record, (void)max_messages, (void)max_bytes, (void)ttl_s;
    done(false, false);
  }
  // Up to `limit` of the account's messages due at `now_s` that no live instance is releasing,
  // each leased to `owner` for keys::kClaimMs (renewed with renew_hold_lease while in flight).
  using Due = std::function<void(bool ok, std::vector<HeldRecord> records)>;
  virtual void due_held(std::string_view account, int64_t now_s, int limit, std::string_view owner, Due done) {
    (void)account, (void)now_s, (void)limit, (void)owner;
    done(false, {});
  }
  virtual void renew_hold_lease(std::string_view account, std::string_view id, std::string_view owner) {
    (void)account, (void)id, (void)owner;
  }
  // Its final outcome is known (relayed, refused, expired, dropped): the record goes.
  virtual void held_done(std::string_view account, std::string_view id) { (void)account, (void)id; }
  // Makes held messages due at `at_s`: a campaign's (`campaign` non-empty), else the one `id`.
  virtual void release_held(std::string_view account, std::string_view campaign, std::string_view id, int64_t at_s, Done done) {
    (void)account, (void)campaign, (void)id, (void)at_s;
    done(false);
  }
  // Drops held messages (a campaign's, else the one `id`): due at once, marked dropped, so that
  // the releasing instance gives each a failure receipt instead of relaying it.
  virtual void drop_held(std::string_view account, std::string_view campaign, std::string_view id, Done done) {
    (void)account, (void)campaign, (void)id;
    done(false);
  }
  // How many messages the account has held (the NOC's gauge).
  virtual void held_count(std::string_view account, std::function<void(bool ok, int64_t count)> done) {
    (void)account;
    done(false, 0);
  }

  virtual bool up() const = 0;
  // Commands sent and not answered yet: how far behind the store is. Every relayed message
  // writes to the store after its customer was answered, so a store slower than the traffic
  // would fall ever further behind: at limits.store_backlog_max the hub stops reading customers
  // until half of it is left (a Redis that answers nothing at all is down, not behind: its
  // stall timeout fails what waits).
  virtual size_t backlog() const { return 0; }
  // Hands what this turn queued to the kernel now: called at the end of each loop turn, before
  // the customers' answers of that turn are written (a process killed between the two then loses
  // answers, which customers retry, never a receipt mapping behind an ESME_ROK they already have).
  virtual void write_queued() {}
  virtual std::string describe() const = 0;
  virtual void close() = 0;
};

// Redis (async hiredis on the loop) or in-process memory, from the config. The instance number
// for message ids comes from the same store, once, at start-up (blocking).
std::unique_ptr<StateStore> make_state_store(uv_loop_t* loop, const Config& config, Counters& counters);
// 20-bit instance number: Redis INCR (unique across instances and restarts), or random in memory mode.
std::optional<uint32_t> claim_instance_number(const Config& config, std::string& error);

// A keyed hash of a phone number, so that counter keys hold no number (docs/state.md).
std::string number_hash(const Config& config, std::string_view number);

// Ops helpers' blocking access to ported numbers (hajib ports ...); both bump the version, which
// running proxies poll, and return the new version in `version`.
bool set_ported(const Config& config, const std::vector<std::pair<std::string, std::string>>& numbers,
                long long& version, std::string& error);
bool remove_ported(const Config& config, const std::vector<std::string>& numbers, long long& version, std::string& error);

std::unique_ptr<StateStore> make_memory_store(uv_loop_t* loop);
std::unique_ptr<StateStore> make_redis_store(uv_loop_t* loop, const Config& config, Counters& counters);


}  // namespace proxy
