// The shared state store: Redis over one pipelined link on the proxy's loop, reconnecting by itself.
#include <hiredis/hiredis.h>

#include <fmt/format.h>

#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <unordered_map>
#include <iterator>

#include "policy/saudi_time.h"
#include "proxy/log.h"
#include "proxy/net/deferred.h"
#include "proxy/state/lua_scripts.h"
#include "proxy/state/redis_link.h"
#include "proxy/state/sentinel.h"
#include "proxy/state/store.h"
#include "proxy/stats/stats.h"

namespace proxy {

namespace {

constexpr int kAwarenessTtlS = 2 * 24 * 3600;  // the Saudi day it counts, and a margin
constexpr int kUsageTtlS = 400 * 24 * 3600;    // a year of billing, and a quarter to settle it
constexpr size_t kSweepPeriodTicks = 1200;     // every receipt bucket swept once in 5 minutes

// A receipt mapping as Redis keeps it, in as few bytes as it can (it is the store's largest
// population: one per message whose final receipt has not come): 4 bytes of expiry, 8 bytes of
// our id, then the account. `value` is "account\tour id" with a 16-hex id, as ReceiptMap writes it.
void encode_mapping_into(std::string& out, int64_t expires_unix_s, std::string_view value) {
  size_t tab = value.find('\t');
  std::string_view account = value.substr(0, tab), id = tab == std::string_view::npos ? "" : value.substr(tab + 1);
  out.assign(12, '\0');
  for (int i = 0; i < 4; ++i) out[size_t(i)] = char(uint32_t(expires_unix_s) >> (24 - 8 * i));
  auto nibble = [](char c) { return c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0'; };
  for (size_t i = 0; i < 8 && 2 * i + 1 < id.size(); ++i) out[4 + i] = char(nibble(id[2 * i]) << 4 | nibble(id[2 * i + 1]));
  out.append(account);
}

std::string encode_mapping(int64_t expires_unix_s, std::string_view value) {
  std::string out;
  encode_mapping_into(out, expires_unix_s, value);
  return out;
}

std::optional<std::string> decode_mapping(std::string_view field, int64_t now) {
  if (field.size() < 12) return std::nullopt;
  uint32_t expires = 0;
  for (int i = 0; i < 4; ++i) expires = expires << 8 | uint8_t(field[size_t(i)]);
  if (int64_t(expires) < now) return std::nullopt;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string value(field.substr(12));
  value.push_back('\t');
  for (size_t i = 4; i < 12; ++i) {
    value.push_back(kHex[uint8_t(field[i]) >> 4]);
    value.push_back(kHex[uint8_t(field[i]) & 15]);
  }
  return value;
}

int flags_of(const policy::StateNeeds& n) {
  return (n.throughput ? 1 : 0) | (n.opt_out ? 2 : 0) | (n.awareness ? 4 : 0) | (n.charge ? 8 : 0);
}

class RedisStore final : public StateStore, private RedisLink::Events {
 public:
  RedisStore(uv_loop_t* loop, const Config& config, Counters& counters)
      : loop_(loop), host_(config.redis_host), port_(config.redis_port), db_(config.redis_db),
        username_(config.redis_username), password_(config.redis_password), counters_(counters),
        deferred_(loop), link_(loop, *this), timeout_ms_(uint64_t(config.state_timeout_ms)), buckets_(config.receipt_buckets),
        bucket_ttl_s_(int(std::max<int64_t>(config.limits.receipt_map_ttl_s, kReceiptMappingMaxS)) + 7200) {
    for (const auto& u : config.upstreams) upstreams_.push_back(u.name);
    uv_timer_init(loop, &reconnect_timer_);
    reconnect_timer_.data = this;
    uv_timer_init(loop, &stall_timer_);
    stall_timer_.data = this;
    uv_timer_start(&stall_timer_, [](uv_timer_t* t) { static_cast<RedisStore*>(t->data)->check_stall(); }, 100, 100);
    if (!config.redis_sentinels.empty()) {
      master_name_ = config.redis_master;
      sentinels_ = std::make_unique<SentinelWatch>(loop, config, [this](const std::string& host, int port) { master_at(host, port); });
      return;  // connects once the sentinels name the master
    }
    connect();
  }

  void remember_receipt(std::string_view upstream, std::string_view operator_id, std::string_view value,
                        int64_t expires_unix_s, Done done) override {
    // A bucket lives bucket_ttl_s after its last write, longer than any mapping in it; the sweep
    // removes each mapping when it expires, and an empty hash is gone.
    const std::string& key = receipt_bucket(upstream, keys::receipt_bucket_of(operator_id, buckets_)).key;
    std::string field = encode_mapping(expires_unix_s, value);
    replayable({"HSET", key, operator_id, field});
    send(nullptr, {"HSET", key, operator_id, field});
    send([done](const redisReply* r) { done(r != nullptr); }, {"EXPIRE", key, bucket_ttl_});
  }

  // One loop turn's mappings: an HSET each, and a PING whose answer answers for all: replies on
  // one connection come in order, so when the PING's comes every HSET's has come, and a failed
  // one marked the batch failed (a dropped connection fails them all). The HSETs' callback holds
  // one pointer, which std::function keeps without an allocation. A bucket's TTL is set again at most once a second: a bucket emptied by deletions is
  // gone and the next HSET makes a new one without a TTL, which the next second's EXPIRE gives
  // it (the sweep removes expired mappings in any case; the TTL is for a bucket no proxy sweeps).
  void remember_receipts(const std::vector<ReceiptMapping>& mappings, Done done) override {
    if (mappings.empty()) return done(true);
    const uint64_t now = uv_now(loop_);
    for (const ReceiptMapping& m : mappings) {
      const Bucket& bucket = receipt_bucket(m.upstream, keys::receipt_bucket_of(m.operator_id, buckets_));
      encode_mapping_into(field_, m.expires_unix_s, m.value);
      const std::string_view hset[] = {"HSET", bucket.key, m.operator_id, field_};
      replayable(hset);
      issue([this](const redisReply* r) { receipts_failed_ |= r == nullptr; }, [&](Reply fn) { link_.command(hset, std::move(fn)); });
      if (bucket.expired_ms != 0 && now - bucket.expired_ms < 1000) continue;
      const std::string_view expire[] = {"EXPIRE", bucket.key, bucket_ttl_};
      issue(nullptr, [&](Reply fn) { link_.command(expire, std::move(fn)); });
      bucket.expired_ms = now;
    }
    const std::string_view ping[] = {"PING"};
    receipt_batches_.push_back(ReceiptBatch{next_receipt_batch_++, std::move(done)});
    issue([this, id = next_receipt_batch_ - 1](const redisReply* r) { receipts_written(id, r != nullptr); },
          [&](Reply fn) { link_.command(ping, std::move(fn)); });
  }

  // A batch's PING answered (or failed). Answers come in order, except a PING that failed before
  // it was sent, which is answered on the next turn: the batch is looked up by its number.
  void receipts_written(uint64_t id, bool ok) {
    const bool failed = std::exchange(receipts_failed_, false);
    size_t at = 0;
    while (at < receipt_batches_.size() && receipt_batches_[at].id != id) ++at;
    if (at == receipt_batches_.size()) return;
    Done done = std::move(receipt_batches_[at].done);
    receipt_batches_[at].id = 0;  // answered
    while (!receipt_batches_.empty() && receipt_batches_.front().id == 0) receipt_batches_.pop_front();
    done(ok && !failed);
  }

  void find_receipt(std::string_view upstream, std::string_view operator_id, Found done) override {
    const std::string& key = receipt_bucket(upstream, keys::receipt_bucket_of(operator_id, buckets_)).key;
    send(
        [done](const redisReply* r) {
          std::optional<std::string> value = string_reply(r);
          if (value) value = decode_mapping(*value, unix_now());  // an expired one the sweep has not reached is gone
          done(r != nullptr, std::move(value));
        },
        {"HGET", key, operator_id});
  }

  void forget_receipt(std::string_view upstream, std::string_view operator_id) override {
    const std::string& key = receipt_bucket(upstream, keys::receipt_bucket_of(operator_id, buckets_)).key;
    const std::string_view hdel[] = {"HDEL", key, operator_id};
    replayable(hdel);
    issue(nullptr, [&](Reply fn) { link_.command(hdel, std::move(fn)); });
  }

  // Every bucket of every upstream once in kSweepPeriodTicks ticks, a few per tick, each one
  // small (a hundred-odd fields): Redis is never blocked for long.
  void sweep_receipts() override {
    size_t total = upstreams_.size() * buckets_;
    if (!connected_ || total == 0) return;
    size_t per_tick = (total + kSweepPeriodTicks - 1) / kSweepPeriodTicks;
    std::string now = std::to_string(unix_now());
    for (size_t i = 0; i < per_tick; ++i, sweep_cursor_ = (sweep_cursor_ + 1) % total) {
      std::string key = keys::receipt_bucket(upstreams_[sweep_cursor_ / buckets_], uint32_t(sweep_cursor_ % buckets_));
      const std::string_view args[] = {"1", key.c_str(), now.c_str()};
      script(sweep_, args, [](const redisReply*) {});
    }
  }

  void on_back(std::function<void(bool lost)> fn) override { on_back_ = std::move(fn); }

  void keep_delivery(std::string_view account, std::string_view key, std::string_view pdu, int max, int ttl_s,
                     Done done) override {
    std::string hash = keys::kept(account), limit = std::to_string(max), ttl = std::to_string(ttl_s);
    const std::string_view args[] = {"1", hash, key, pdu, limit, ttl};  // the PDU is binary: lengths, not NULs
    script(keep_, args, [done](const redisReply* r) { done(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1); });
  }

  void kept_deliveries(std::string_view account, int max, Listed done) override {
    std::string hash = keys::kept(account);
    std::string count = std::to_string(max);
    const std::string_view args[] = {"1", hash, count};
    script(kept_, args, [done](const redisReply* r) { done(r != nullptr, pairs_reply(r)); });
  }

  void forget_delivery(std::string_view account, std::string_view key) override {
    std::string hash = keys::kept(account);
    send(nullptr, {"HDEL", hash, key});
  }

  void ported_version(Found done) override {
    send([done](const redisReply* r) { done(r != nullptr, string_reply(r)); }, {"GET", keys::ported_version});
  }

  void ported_numbers(Listed done) override {
    send([done](const redisReply* r) { done(r != nullptr, pairs_reply(r)); }, {"HGETALL", keys::ported});
  }

  // Reservations waiting for the next loop turn, by account (see reserve()). An account's entry
  // and its buffers stay from turn to turn: queuing a message allocates nothing once they have
  // grown to a turn's traffic.
  struct PendingReservation {
    std::string aware;  // empty when the awareness rule is not asked: the bucket key stands in
    std::string number, flags, cap, parts;
    Checked done;
  };
  struct PendingAccount {
    std::string bucket, optout, balance, rate;
    std::vector<PendingReservation> items;
    size_t used = 0;  // items[0..used) wait for this turn
  };
  // A script call on its way, its messages' callbacks in order.
  struct ReservationCall {
    uint64_t id = 0;
    std::vector<Checked> dones;
  };

  // Queued, and sent on the next loop turn with the other reservations of the same account in
  // one script call (lua/reserve.lua; an account's keys share a hash tag): one round of Redis
  // work per account and turn instead of one per message.
  void reserve(const Reservation& r, Checked done) override {
    auto it = pending_reservations_.find(r.account);
    if (it == pending_reservations_.end()) {
      it = pending_reservations_.emplace(r.account, PendingAccount{}).first;
      it->second.bucket = keys::bucket(r.account);
      it->second.optout = keys::opted_out(r.account);
      it->second.balance = keys::balance(r.account);
    }
    PendingAccount& group = it->second;
    if (group.used == 0) group.rate = std::to_string(r.needs.rate);
    if (group.used == group.items.size()) group.items.emplace_back();
    PendingReservation& p = group.items[group.used++];
    if (r.needs.awareness) p.aware = keys::awareness(r.account, r.saudi_day, r.sender, r.number_hash);
    else p.aware.clear();
    p.number = r.number;
    p.flags = std::to_string(flags_of(r.needs));
    p.cap = std::to_string(r.needs.awareness_cap);
    p.parts = std::to_string(r.parts);
    p.done = std::move(done);
    if (!reservations_scheduled_) {
      reservations_scheduled_ = true;
      deferred_.post([this] { send_reservations(); });
    }
  }

  void send_reservations() {
    reservations_scheduled_ = false;
    for (auto& [account, group] : pending_reservations_) {
      for (size_t from = 0; from < group.used; from += kReservationsPerCall) send_reservations(group, from);
      group.used = 0;
    }
  }

  void send_reservations(PendingAccount& group, size_t from) {
    const size_t count = std::min(kReservationsPerCall, group.used - from);
    numkeys_ = std::to_string(3 + count);
    args_.assign({numkeys_, group.bucket, group.optout, group.balance});
    for (size_t i = from; i < from + count; ++i)
      args_.push_back(group.items[i].aware.empty() ? std::string_view(group.bucket) : std::string_view(group.items[i].aware));
    args_.push_back(group.rate);
    args_.push_back(aware_ttl_);
    ReservationCall call;
    call.id = next_call_++;
    if (!spare_dones_.empty()) {
      call.dones = std::move(spare_dones_.back());
      spare_dones_.pop_back();
    }
    for (size_t i = from; i < from + count; ++i) {
      PendingReservation& p = group.items[i];
      args_.insert(args_.end(), {p.flags, p.number, p.cap, p.parts});
      call.dones.push_back(std::move(p.done));
      p.done = nullptr;
    }
    calls_.push_back(std::move(call));
    // The callback holds two words (this and the call's number): no allocation.
    script(reserve_, args_.data(), args_.size(), [this, id = next_call_ - 1](const redisReply* reply) { reserved(id, reply); });
  }

  // Calls are answered in order, but one that failed before it was sent is answered on the next
  // turn, so the call is looked up by its number.
  void reserved(uint64_t id, const redisReply* reply) {
    size_t at = 0;
    while (at < calls_.size() && calls_[at].id != id) ++at;
    if (at == calls_.size()) return;
    std::vector<Checked> dones = std::move(calls_[at].dones);
    calls_[at].id = 0;  // answered
    while (!calls_.empty() && calls_.front().id == 0) calls_.pop_front();
    static constexpr policy::Rule kFailed[] = {policy::Rule::none, policy::Rule::account_throughput,
                                               policy::Rule::recipient_opted_out, policy::Rule::awareness_daily_cap,
                                               policy::Rule::account_balance};
    const bool ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == dones.size();
    for (size_t i = 0; i < dones.size(); ++i) {
      const long long code = ok && reply->element[i]->type == REDIS_REPLY_INTEGER ? reply->element[i]->integer : -1;
      if (code < 0 || code > 4) dones[i](false, policy::Rule::none);
      else dones[i](true, kFailed[code]);
    }
    dones.clear();
    spare_dones_.push_back(std::move(dones));
  }

  void release(const Reservation& r) override {
    // Without the awareness rule the balance key stands in for the counter's (same hash tag).
    std::string balance = keys::balance(r.account);
    std::string aware = r.needs.awareness ? keys::awareness(r.account, r.saudi_day, r.sender, r.number_hash) : balance;
    std::string flags = std::to_string(flags_of(r.needs)), parts = std::to_string(r.parts);
    const std::string_view args[] = {"2", aware.c_str(), balance.c_str(), flags.c_str(), parts.c_str()};
    script(release_, args, [](const redisReply*) {});
  }

  void count_usage(std::string_view account, int64_t unix_minute, std::string_view cls, int messages, int parts,
                   std::string_view instance, uint64_t batch, Done done) override {
    const policy::SaudiTime t = policy::saudi_time(unix_minute * 60);
    std::string key = keys::usage(account, t.day), seen = keys::usage_counted(account), hourly = keys::hourly(account, t.day),
                minutes = keys::minutes(account, unix_minute / 60), since = keys::counted_since(account);
    std::string messages_field = fmt::format("{}:messages", cls), parts_field = fmt::format("{}:parts", cls);
    std::string m = std::to_string(messages), p = std::to_string(parts), ttl = std::to_string(kUsageTtlS),
                who(instance), n = std::to_string(batch), hour_field = std::to_string(t.minute / 60),
                minute_field = std::to_string(unix_minute % 60), day = std::to_string(t.day),
                hourly_ttl = std::to_string(keys::kHourlyTtlS), minutes_ttl = std::to_string(keys::kMinutesTtlS),
                since_ttl = std::to_string(keys::kSinceTtlS);
    const std::string_view args[] = {"5", key, seen, hourly, minutes, since, messages_field, m, parts_field, p, ttl, who, n,
                                     hour_field, minute_field, day, hourly_ttl, minutes_ttl, since_ttl};
    std::string_view eval[2 + std::size(args)] = {"EVAL", lua::usage};
    std::copy(std::begin(args), std::end(args), eval + 2);
    replayable(eval);
    script(usage_, args, [done](const redisReply* r) { done(r != nullptr); });
  }

  void volume_figures(std::string_view account, int64_t unix_s, int window_min,
                      std::function<void(bool, VolumeFigures)> done) override {
    const policy::SaudiTime t = policy::saudi_time(unix_s);
    const int64_t hour = unix_s / 3600;
    std::vector<std::string> owned = {"11"};
    for (int back = 0; back <= 7; ++back) owned.push_back(keys::hourly(account, t.day - back));
    owned.push_back(keys::minutes(account, hour));
    owned.push_back(keys::minutes(account, hour - 1));
    owned.push_back(keys::counted_since(account));
    owned.push_back(std::to_string(t.minute / 60));
    owned.push_back(std::to_string((unix_s / 60) % 60));
    owned.push_back(std::to_string(window_min));
    std::vector<std::string_view> args(owned.begin(), owned.end());
    script(volume_, args.data(), args.size(), [done](const redisReply* r) {
      VolumeFigures f;
      bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 4;
      if (ok) {
        int64_t* out[] = {&f.today, &f.same_hour_before, &f.recent, &f.first_day};
        for (size_t i = 0; i < 4; ++i) *out[i] = r->element[i]->type == REDIS_REPLY_INTEGER ? r->element[i]->integer : 0;
      }
      done(ok, f);
    });
  }

  void count_flags(std::string_view account, int64_t day, std::string_view rule, int count,
                   const std::vector<std::string>& examples, Done done) override {
    std::string key = keys::flags(account, day), n = std::to_string(count), ttl = std::to_string(keys::kFlagsTtlS);
    std::vector<std::string_view> args = {"1", key, rule, n, ttl};
    args.insert(args.end(), examples.begin(), examples.end());
    script(flags_, args.data(), args.size(), [done](const redisReply* r) { done(r != nullptr); });
  }

  void set_opted_out(std::string_view account, std::string_view number, bool opted_out, Done done) override {
    std::string key = keys::opted_out(account);
    replayable({opted_out ? "SADD" : "SREM", key, number});
    send([done](const redisReply* r) { done(r != nullptr); }, {opted_out ? "SADD" : "SREM", key, number});
  }

  void hold_part(std::string_view account, std::string_view message, std::string_view part, std::string_view blob,
                 int ttl_s, std::string_view owner, Done done) override {
    std::string key = keys::held(account, message), index = keys::held_index(account), ttl = std::to_string(ttl_s);
    renew_claim(account, message, owner);
    send(nullptr, {"HSET", key, part, blob});
    send(nullptr, {"EXPIRE", key, ttl});
    // The index outlives every message in it by the TTL; setting it again once a second is enough.
    uint64_t& indexed = index_expired_ms_[index];
    const uint64_t now = uv_now(loop_);
    if (indexed != 0 && now - indexed < 1000) return send([done](const redisReply* r) { done(r != nullptr); }, {"SADD", index, message});
    indexed = now;
    send(nullptr, {"SADD", index, message});
    send([done](const redisReply* r) { done(r != nullptr); }, {"EXPIRE", index, ttl});
  }

  void renew_claim(std::string_view account, std::string_view message, std::string_view owner) override {
    std::string key = keys::held_owner(account, message);
    send(nullptr, {"SET", key, owner, "PX", claim_ms_});
  }

  void forget_held(std::string_view account, std::string_view message) override {
    std::string key = keys::held(account, message), owner = keys::held_owner(account, message),
                index = keys::held_index(account);
    send(nullptr, {"DEL", key, owner});
    send(nullptr, {"SREM", index, message});
  }

  void held_parts(std::string_view owner, std::string_view account,
                  std::function<void(bool, std::vector<HeldPart>)> done) override {
    std::string index = keys::held_index(account), parts_prefix = keys::held(account, ""),
                owner_prefix = keys::held_owner(account, "");
    send(
        [done, account = std::string(account)](const redisReply* r) {
          std::vector<HeldPart> parts;
          if (r && r->type == REDIS_REPLY_ARRAY)
            for (size_t i = 0; i + 2 < r->elements; i += 3)
              parts.push_back({account, std::string(r->element[i]->str, r->element[i]->len),
                               std::string(r->element[i + 1]->str, r->element[i + 1]->len),
                               std::string(r->element[i + 2]->str, r->element[i + 2]->len)});
          done(r != nullptr, std::move(parts));
        },
        {"EVAL", lua::held_parts, "1", index, owner, claim_ms_, parts_prefix, owner_prefix});
  }

  bool keeps_campaigns() const override { return true; }

  void note_campaign(const CampaignNote& n) override {
    std::string record = keys::campaign_record(n.account, n.campaign), links = keys::campaign_links(n.account, n.campaign),
                pending = keys::campaigns_pending(n.account), now = std::to_string(n.now_s),
                life = std::to_string(n.pending_s + 86400), most = std::to_string(kCampaignLinksMax),
                most_pending = std::to_string(kPendingCampaignsMax);
    argv_note_.assign({"3", record, links, pending, n.campaign, n.account, n.sender, n.template_text, n.example, now, life, most,
                       most_pending});
    if (n.links)
      for (const std::string& link : *n.links) argv_note_.push_back(link);
    script(note_, argv_note_.data(), argv_note_.size(), nullptr);
  }

  void review_version(Found done) override {
    send([done](const redisReply* r) { done(r != nullptr, string_reply(r)); }, {"GET", keys::review_version});
  }

  void decided_campaigns(std::string_view account, int64_t now_s, Listed done) override {
    std::string key = keys::campaigns_decided(account), now = std::to_string(now_s);
    send([done](const redisReply* r) { done(r != nullptr, pairs_reply(r)); },
         {"ZRANGEBYSCORE", key, now, "+inf", "WITHSCORES"});
  }

  void expire_campaigns(std::string_view owner, const std::vector<std::string>& accounts, int64_t now_s, int64_t cutoff_s,
                        int64_t until_s, Listed done) override {
    // The lock lapses by itself: an instance that dies holding it delays the next expiry 10 s at most.
    send(
        [this, accounts, now_s, cutoff_s, until_s, done](const redisReply* r) {
          if (!r) return done(false, {});
          if (r->type != REDIS_REPLY_STATUS) return done(true, {});  // another instance has it
          auto expired = std::make_shared<std::vector<std::pair<std::string, std::string>>>();
          auto left = std::make_shared<size_t>(accounts.size());
          auto ok = std::make_shared<bool>(true);
          if (accounts.empty()) {
            send(nullptr, {"DEL", keys::review_expiry_lock});
            return done(true, {});
          }
          std::string now = std::to_string(now_s), cutoff = std::to_string(cutoff_s), until = std::to_string(until_s);
          for (const std::string& account : accounts) {
            std::string pending = keys::campaigns_pending(account), decided = keys::campaigns_decided(account),
                        prefix = keys::campaign_record(account, "");
            const std::string_view args[] = {"2", pending, decided, prefix, now, cutoff, until, "500"};
            script(expire_, args, [this, account, expired, left, ok, done](const redisReply* r) {
              *ok = *ok && r != nullptr;
              if (r && r->type == REDIS_REPLY_ARRAY)
                for (size_t i = 0; i < r->elements; ++i) expired->emplace_back(account, std::string(r->element[i]->str, r->element[i]->len));
              if (--*left > 0) return;
              if (!expired->empty()) send(nullptr, {"INCR", keys::review_version});
              // Let go at once: the next instance's turn need not wait for the lock to lapse. (Had this
              // pass outlived the lock, another's lock goes too: the scripts are idempotent.)
              send(nullptr, {"DEL", keys::review_expiry_lock});
              done(*ok, std::move(*expired));
            });
          }
        },
        {"SET", keys::review_expiry_lock, owner, "NX", "PX", "10000"});
  }

  void hold_message(const HeldRecord& record, int64_t max_messages, int64_t max_bytes, int ttl_s, Held done) override {
    const std::string& a = record.account;
    std::string key = keys::hold(a, record.id), due = keys::hold_due(a), sizes = keys::hold_sizes(a),
                campaign = record.campaign.empty() ? sizes : keys::hold_campaign(a, record.campaign),
                score = record.release_at ? std::to_string(record.release_at) : "+inf", most = std::to_string(max_messages),
                most_bytes = std::to_string(max_bytes), bytes = std::to_string(record.bytes()), ttl = std::to_string(ttl_s);
    auto fields = record.fields();
    std::vector<std::string_view> args = {"4", key, due, sizes, campaign, record.id, score, most, most_bytes, bytes, ttl, record.campaign};
    for (const auto& [f, v] : fields) args.insert(args.end(), {f, v});
    script(hold_, args.data(), args.size(), [done](const redisReply* r) {
      done(r && r->type == REDIS_REPLY_INTEGER, r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
    });
  }

  void due_held(std::string_view account, int64_t now_s, int limit, std::string_view owner, Due done) override {
    std::string due = keys::hold_due(account), sizes = keys::hold_sizes(account), now = std::to_string(now_s),
                most = std::to_string(limit), records = keys::hold(account, ""), leases = keys::hold_lease(account, "");
    const std::string_view args[] = {"2", due, sizes, owner, claim_ms_, now, most, records, leases};
    script(held_due_, args, [done, account = std::string(account)](const redisReply* r) {
      std::vector<HeldRecord> out;
      const bool ok = r && r->type == REDIS_REPLY_ARRAY;
      for (size_t i = 0; ok && i + 1 < r->elements; i += 2) {
        const redisReply* id = r->element[i];
        std::vector<std::pair<std::string, std::string>> fields = pairs_reply(r->element[i + 1]);
        HeldRecord record;
        if (id->type == REDIS_REPLY_STRING && record.read(account, std::string_view(id->str, id->len), fields))
          out.push_back(std::move(record));
      }
      done(ok, std::move(out));
    });
  }

  void renew_hold_lease(std::string_view account, std::string_view id, std::string_view owner) override {
    std::string key = keys::hold_lease(account, id);
    send(nullptr, {"SET", key, owner, "PX", claim_ms_});
  }

  void held_done(std::string_view account, std::string_view id) override {
    std::string key = keys::hold(account, id), due = keys::hold_due(account), sizes = keys::hold_sizes(account),
                lease = keys::hold_lease(account, id), campaigns = keys::hold_campaign(account, "");
    const std::string_view args[] = {"4", key, due, sizes, lease, id, campaigns};
    script(held_done_, args, [](const redisReply*) {});
  }

  void release_held(std::string_view account, std::string_view campaign, std::string_view id, int64_t at_s, Done done) override {
    std::string due = keys::hold_due(account), set = campaign.empty() ? due : keys::hold_campaign(account, campaign),
                at = at_s ? std::to_string(at_s) : "+inf", records = keys::hold(account, "");
    const std::string_view args[] = {"2", due, set, at, campaign.empty() ? "id" : "campaign", id, records, ""};
    script(held_release_, args, [done](const redisReply* r) { done(r && r->type == REDIS_REPLY_INTEGER); });
  }

  void drop_held(std::string_view account, std::string_view campaign, std::string_view id, Done done) override {
    std::string due = keys::hold_due(account), set = campaign.empty() ? due : keys::hold_campaign(account, campaign),
                records = keys::hold(account, "");
    const std::string_view args[] = {"2", due, set, "1", campaign.empty() ? "id" : "campaign", id, records, "1"};
    script(held_release_, args, [done](const redisReply* r) { done(r && r->type == REDIS_REPLY_INTEGER); });
  }

  void held_count(std::string_view account, std::function<void(bool, int64_t)> done) override {
    std::string sizes = keys::hold_sizes(account);
    send([done](const redisReply* r) {
      const bool ok = r && r->type == REDIS_REPLY_INTEGER;
      done(ok, ok ? std::max<int64_t>(0, r->integer - 1) : 0);  // less the _total field
    }, {"HLEN", sizes});
  }

  bool up() const override { return connected_; }
  size_t backlog() const override { return link_.in_flight(); }
  void write_queued() override { link_.flush_now(); }
  std::string describe() const override { return connected_ ? "redis up" : "redis down"; }

  void close() override {
    closing_ = true;
    // Reservations still waiting for their turn are answered now, as a store that is down: the
    // deferred queue goes with close(), and the messages they hold must not leak.
    for (auto& [account, group] : pending_reservations_) {
      for (size_t i = 0; i < group.used; ++i) std::exchange(group.items[i].done, nullptr)(false, policy::Rule::none);
      group.used = 0;
    }
    link_.close();  // commands waiting fail (no reply)
    if (sentinels_) sentinels_->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&reconnect_timer_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&stall_timer_), nullptr);
    deferred_.close();
  }

 private:
  using Reply = RedisLink::Reply;

  // A Lua script and its SHA once Redis has loaded it.
  struct Script {
    const char* text;
    std::string sha;
  };

  // EVALSHA with the script's SHA, loaded again on every connect (before any EVALSHA on that
  // connection, since commands are pipelined in order); EVAL with the text until it is known.
  // A NOSCRIPT (someone flushed the script cache) fails that one call, which the rules treat as
  // the store being down, and loads the scripts again. `args`: numkeys, keys, arguments.
  template <size_t N>
  void script(Script& s, const std::string_view (&args)[N], Reply fn) {
    script(s, args, N, std::move(fn));
  }
  void script(Script& s, const std::string_view* args, size_t n, Reply fn) {
    argv_.clear();
    bool known = !s.sha.empty();
    argv_.push_back(known ? "EVALSHA" : "EVAL");
    argv_.push_back(known ? std::string_view(s.sha) : std::string_view(s.text));
    argv_.insert(argv_.end(), args, args + n);
    issue(std::move(fn), [&](Reply fn) { link_.command(argv_.data(), argv_.size(), std::move(fn)); });
  }

  // Also when a script was not found (someone flushed Redis' script cache): once, until loaded.
  void load_scripts() {
    if (scripts_loading_) return;
    scripts_loading_ = true;
    for (Script* s : {&reserve_, &release_, &sweep_, &usage_, &volume_, &flags_, &hold_, &held_due_, &held_done_,
                      &held_release_, &keep_, &note_, &expire_, &kept_})
      send([this, s](const redisReply* r) {
             if (r && r->type == REDIS_REPLY_STRING) s->sha.assign(r->str, r->len);
             if (s == &kept_) scripts_loading_ = false;
           },
           {"SCRIPT", "LOAD", s->text});
  }

  // Tells the owner that Redis is back, and whether it kept its data.
  void check_presence() {
    send(
        [this](const redisReply* r) {
          if (!r || r->type != REDIS_REPLY_INTEGER) return;
          bool lost = was_connected_ && r->integer == 0;
          was_connected_ = true;
          if (lost) log::warn("redis {}:{} came back without its data", host_, port_);
          if (on_back_) on_back_(lost);
        },
        {"EVAL", lua::present, "1", keys::present});
  }

  static int64_t unix_now() { return int64_t(std::time(nullptr)); }

  static std::vector<std::pair<std::string, std::string>> pairs_reply(const redisReply* r) {
    std::vector<std::pair<std::string, std::string>> items;
    if (r && r->type == REDIS_REPLY_ARRAY)
      for (size_t i = 0; i + 1 < r->elements; i += 2)
        items.emplace_back(std::string(r->element[i]->str, r->element[i]->len),
                           std::string(r->element[i + 1]->str, r->element[i + 1]->len));
    return items;
  }

  static std::optional<std::string> string_reply(const redisReply* r) {
    if (r && r->type == REDIS_REPLY_STRING) return std::string(r->str, r->len);
    return std::nullopt;
  }

  // Every reply is delivered on a later loop turn by hiredis itself; failures before sending go
  // through deferred_, so callers never see a callback inline.
  // Backpressure towards Redis: past this many commands awaiting replies, new ones fail at once
  // (the rules' when_store_down decides), instead of growing hiredis' buffers without bound.
  static constexpr size_t kMaxInFlight = 50000;

  // One command, its arguments as they are (binary-safe).
  void send(Reply fn, std::initializer_list<std::string_view> argv) {
    issue(std::move(fn), [&](Reply fn) { link_.command(argv.begin(), argv.size(), std::move(fn)); });
  }

  // Every command goes through here: written if Redis is connected and not too far behind, else
  // failed on the next loop turn.
  template <typename Write>
  void issue(Reply fn, Write write) {
    if (connected_ && link_.up() && link_.in_flight() < kMaxInFlight) return write(std::move(fn));
    ++counters_.state_errors;
    if (fn) deferred_.post([fn = std::move(fn)] { fn(nullptr); });
  }

  void error_reply(std::string_view message) override {
    if (message.starts_with("NOSCRIPT")) return load_scripts();  // that call fails; the next ones find them
    ++counters_.state_errors;
    last_error_ = message.substr(0, 200);
    if (message.starts_with("READONLY") && !demoted_) {
      // A master demoted under us (a failover we were not told of): not written to again.
      demoted_ = true;
      log::warn("redis {}:{} is read-only now (a replica): leaving it{}", host_, port_, sentinels_ ? " and asking the sentinels" : "");
      deferred_.post([this] { link_.drop("demoted to a replica"); });
      return;
    }
    if (!handshaking_) log::warn_limited("redis error: {}", message);
  }

  void connect() {
    if (host_.empty()) return;  // the sentinels have not named the master yet
    link_.connect(host_, port_);
    if (link_.attempting()) watch_connect();
  }

  // The sentinels name the master (first answer, a +switch-master, or an answer to asking again).
  void master_at(const std::string& host, int port) {
    if (closing_) return;
    if (host == host_ && port == port_ && (link_.up() || link_.attempting())) return;
    if (host_.empty()) log::info("sentinels name {}:{} as master {}", host, port, master_name_);
    else if (host != host_ || port != port_) log::warn("master {} moved from {}:{} to {}:{}: moving the store's connection", master_name_, host_, port_, host, port);
    host_ = host;
    port_ = port;
    if (connected_) {
      left_at_ms_ = uv_now(loop_);
      connected_ = false;
      scripts_loading_ = false;
      handshaking_ = false;
    }
    connect();  // drops the old connection: its waiting commands fail as in any outage
  }

  // Before anything else on a new connection: AUTH, SELECT, and with sentinels ROLE (a node that
  // is not the master is never written to). The store is up once all of them passed.
  void link_up() override {
    uv_timer_stop(&reconnect_timer_);
    handshaking_ = true;
    demoted_ = false;
    last_error_.clear();
    if (!password_.empty()) {
      if (username_.empty()) link_.command({"AUTH", password_}, [this](const redisReply* r) { step_done(r, "AUTH"); });
      else link_.command({"AUTH", username_, password_}, [this](const redisReply* r) { step_done(r, "AUTH"); });
    }
    if (db_ != 0) link_.command({"SELECT", std::to_string(db_)}, [this](const redisReply* r) { step_done(r, "SELECT"); });
    if (sentinels_) link_.command({"ROLE"}, [this](const redisReply* r) { role_answered(r); });
    link_.command({"PING"}, [this](const redisReply* r) {
      if (step_done(r, "PING")) ready();
    });
  }

  // Whether the step passed; a refused one is said once, clearly, and the store stays down
  // (counted in state_errors), trying again every kRefusedRetryMs.
  bool step_done(const redisReply* r, const char* step) {
    if (!handshaking_ || !link_.up()) return false;
    if (r) return true;
    handshaking_ = false;
    refused_ = true;
    const std::string who = username_.empty() ? (password_.empty() ? std::string("without a password") : std::string("with state.password"))
                                              : fmt::format("as ACL user {}", username_);
    if (std::string_view(step) == "AUTH" || last_error_.starts_with("NOAUTH") || last_error_.starts_with("WRONGPASS"))
      log::error("redis {}:{} refused us ({}): {}; the store stays down", host_, port_, who, last_error_);
    else log::error("redis {}:{} refused {}: {}; the store stays down", host_, port_, step, last_error_);
    link_.drop(std::string("refused ") + step);
    return false;
  }

  void role_answered(const redisReply* r) {
    if (!step_done(r, "ROLE")) return;
    std::string_view role = r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->type == REDIS_REPLY_STRING
                                ? std::string_view(r->element[0]->str, r->element[0]->len) : std::string_view{};
    if (role == "master") return;
    handshaking_ = false;
    ++counters_.state_errors;
    log::warn("redis {}:{} is a {}, not the master of {}: not used; asking the sentinels again", host_, port_,
              role.empty() ? "node of unknown role" : role, master_name_);
    link_.drop("not the master");
  }

  void ready() {
    handshaking_ = false;
    refused_ = false;
    connected_ = true;
    log::info("redis {}:{} connected", host_, port_);
    const std::string here = fmt::format("{}:{}", host_, port_);
    if (!master_before_.empty() && master_before_ != here) replay(master_before_);
    master_before_ = here;
    scripts_loading_ = false;
    load_scripts();
    check_presence();
  }

  // ---- across a master switch (sentinels only) ----
  // Replication is asynchronous: what the old master confirmed in its last moments (after the
  // sentinels promoted the replica, or before a kill reached the replica) may never reach the new
  // master. The receipt mappings, usage tallies and opt-outs sent in the kReplayMs before the old
  // master was left are kept as sent and
  // written again to the new master, first thing, in their order: HSET, HDEL, SADD and SREM end
  // in the same state when a suffix is replayed, and a usage batch already counted there is skipped
  // by usage.lua (its instance and batch number). Reservations are not replayed: they are
  // decisions, and counting them twice would refuse messages that passed (docs/scale.md).
  static constexpr uint64_t kReplayMs = 5000;  // before the old master was left; a promotion precedes +switch-master by about 1 s
  struct Replayable {
    uint64_t at_ms;
    std::vector<std::string> argv;
  };

  template <size_t N>
  void replayable(const std::string_view (&argv)[N]) {
    replayable(argv, N);
  }
  void replayable(std::initializer_list<std::string_view> argv) { replayable(argv.begin(), argv.size()); }
  void replayable(const std::string_view* argv, size_t n) {
    if (!sentinels_ || !connected_) return;  // a write that fails now is the callers' to retry
    const uint64_t now = uv_now(loop_);
    while (!replay_log_.empty() && now - replay_log_.front().at_ms > kReplayMs) replay_log_.pop_front();
    replay_log_.push_back(Replayable{now, std::vector<std::string>(argv, argv + n)});
  }

  void replay(const std::string& from) {
    const uint64_t left = left_at_ms_ ? left_at_ms_ : uv_now(loop_);
    while (!replay_log_.empty() && left - replay_log_.front().at_ms > kReplayMs) replay_log_.pop_front();
    log::warn("master moved from {}: writing the last {} receipt and usage writes again on {}:{}", from,
              replay_log_.size(), host_, port_);
    std::vector<std::string_view> argv;
    for (const Replayable& r : replay_log_) {
      argv.assign(r.argv.begin(), r.argv.end());
      link_.command(argv.data(), argv.size(), nullptr);
    }
  }

  void link_down(std::string_view reason) override {
    bool was = connected_;
    if (was) left_at_ms_ = uv_now(loop_);
    connected_ = false;
    handshaking_ = false;
    scripts_loading_ = false;
    if (closing_) return;
    if (was) log::warn("redis {}:{} disconnected: {}", host_, port_, reason);
    else log::warn_limited("redis {}:{} unreachable: {}", host_, port_, reason);
    if (sentinels_) sentinels_->ask();  // the master may have moved: ask, while retrying where it was
    schedule_reconnect();
  }

  // A Redis that answers nothing for timeout_ms is treated as down: the connection is dropped,
  // every waiting command fails (the rules' when_store_down decides), and it reconnects.
  void check_stall() {
    if (!link_.up() || link_.in_flight() == 0 || uv_now(loop_) - link_.oldest_queued_ms() < timeout_ms_) return;
    log::warn("redis {}:{} answered nothing for {} ms: treating it as down", host_, port_, timeout_ms_);
    ++counters_.state_errors;
    link_.drop("no answer");  // the waiting commands fail, then link_down
  }

  void schedule_reconnect() {
    if (closing_) return;
    const uint64_t wait_ms = refused_ ? kRefusedRetryMs : 500;  // a refusal is not hammered
    uv_timer_start(&reconnect_timer_, [](uv_timer_t* t) { static_cast<RedisStore*>(t->data)->retry(); }, wait_ms, 0);
  }

  // A connect attempt that has not succeeded within a second (a peer that drops SYNs) is
  // abandoned and started again.
  void watch_connect() {
    uv_timer_start(&reconnect_timer_, [](uv_timer_t* t) { static_cast<RedisStore*>(t->data)->retry(); }, 1000, 0);
  }

  void retry() {
    if (closing_ || link_.up()) return;
    connect();
  }

  uv_loop_t* loop_;
  std::string host_;
  int port_;
  int db_;
  std::string username_, password_;
  std::string master_name_;
  std::unique_ptr<SentinelWatch> sentinels_;  // null without state.sentinels
  bool handshaking_ = false;  // AUTH, SELECT, ROLE on their way: the store is not up yet
  bool refused_ = false;      // the last set-up was refused (bad credentials): retried slowly
  bool demoted_ = false;      // a READONLY came on this connection
  std::string last_error_;    // the last error reply, for the refusal's log line
  std::string master_before_;  // host:port of the last node the store was up on
  std::deque<Replayable> replay_log_;  // sentinels only: what a master switch writes again
  uint64_t left_at_ms_ = 0;            // when the store last stopped being up on a node
  static constexpr uint64_t kRefusedRetryMs = 5000;
  Counters& counters_;
  Deferred deferred_;
  RedisLink link_;
  static constexpr size_t kReservationsPerCall = 500;  // keeps one script call short for Redis
  std::map<std::string, PendingAccount, std::less<>> pending_reservations_;
  Ring<ReservationCall> calls_;                 // script calls on their way
  std::vector<std::vector<Checked>> spare_dones_;  // answered calls' vectors (reused)
  uint64_t next_call_ = 1;
  std::string numkeys_, aware_ttl_ = std::to_string(kAwarenessTtlS);
  std::vector<std::string_view> args_;  // a reservation call's arguments (reused)
  bool reservations_scheduled_ = false;
  uv_timer_t reconnect_timer_{};
  bool connected_ = false;
  bool closing_ = false;
  bool scripts_loading_ = false;
  uint64_t timeout_ms_;
  uv_timer_t stall_timer_{};
  std::vector<std::string_view> argv_;  // a script call's arguments (reused)
  Script reserve_{lua::reserve, {}}, release_{lua::release, {}}, sweep_{lua::sweep, {}}, usage_{lua::usage, {}},
      keep_{lua::keep, {}}, kept_{lua::kept, {}}, note_{lua::campaign_note, {}}, expire_{lua::campaign_expire, {}},
      hold_{lua::hold, {}}, held_due_{lua::held_due, {}}, held_done_{lua::held_done, {}}, held_release_{lua::held_release, {}},
      volume_{lua::volume, {}}, flags_{lua::flags, {}};
  static constexpr int kCampaignLinksMax = 100;  // links kept per campaign for its reviewer
  // Pending campaigns an account may have in the book: a customer sending ever-new texts cannot
  // grow it without bound (their messages still wait; ops see the first ones).
  static constexpr int kPendingCampaignsMax = 10000;
  std::vector<std::string_view> argv_note_;       // a note's arguments (reused)
  uint32_t buckets_;
  int bucket_ttl_s_;
  // Receipt buckets by upstream and number: the key, made once, and when its TTL was last set.
  struct Bucket {
    std::string key;
    mutable uint64_t expired_ms = 0;
  };
  std::vector<std::vector<Bucket>> buckets_by_upstream_;
  std::string bucket_ttl_ = std::to_string(bucket_ttl_s_);
  std::string field_;  // a mapping's encoded value (reused)
  bool receipts_failed_ = false;  // an HSET of the receipt batch being answered failed
  // Receipt batches whose PING has not been answered: the callback of each, by number (the PING's
  // own callback then holds two words, which std::function keeps without an allocation).
  struct ReceiptBatch {
    uint64_t id = 0;
    Done done;
  };
  Ring<ReceiptBatch> receipt_batches_;
  uint64_t next_receipt_batch_ = 1;
  std::unordered_map<std::string, uint64_t> index_expired_ms_;  // held-message index key: when its TTL was last set
  const std::string claim_ms_ = std::to_string(keys::kClaimMs);
  const Bucket& receipt_bucket(std::string_view upstream, uint32_t bucket) {
    size_t u = 0;
    while (u < upstreams_.size() && upstreams_[u] != upstream) ++u;
    if (u == upstreams_.size()) upstreams_.emplace_back(upstream);  // not configured: still written
    if (buckets_by_upstream_.size() < upstreams_.size()) buckets_by_upstream_.resize(upstreams_.size());
    auto& row = buckets_by_upstream_[u];
    if (row.empty()) row.resize(buckets_);
    if (row[bucket].key.empty()) row[bucket].key = keys::receipt_bucket(upstream, bucket);
    return row[bucket];
  }
  std::vector<std::string> upstreams_;
  size_t sweep_cursor_ = 0;
  bool was_connected_ = false;  // connected once before: a missing marker then means lost data
  std::function<void(bool)> on_back_;
};

}  // namespace

std::unique_ptr<StateStore> make_redis_store(uv_loop_t* loop, const Config& config, Counters& counters) {
  return std::make_unique<RedisStore>(loop, config, counters);
}

}  // namespace proxy
