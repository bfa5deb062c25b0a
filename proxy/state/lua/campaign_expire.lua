-- Pending campaigns first seen at or before ARGV[3] expire (proxy/review/, one instance at a time):
-- each record still pending becomes expired (by hajib) until ARGV[4], as campaign_decide.lua does.
-- The records' keys are built here from ARGV[1] (keys::campaign_record(account, "")): they share
-- the indexes' hash tag, so Redis Cluster finds them in the declared slot.
-- KEYS: the account's pending index, its decided index. ARGV: record prefix, now, cutoff, until, most.
-- Returns the ids expired.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[5]))
local expired = {}
for _, id in ipairs(ids) do
  local record = ARGV[1] .. id
  redis.call('ZREM', KEYS[1], id)
  if redis.call('HGET', record, 'state') == 'pending' then
    redis.call('HSET', record, 'state', 'expired', 'by', 'hajib', 'at', ARGV[2],
               'reason', 'not approved or rejected within review.pending_hours', 'until', ARGV[4])
    redis.call('EXPIREAT', record, ARGV[4])
    redis.call('EXPIREAT', record .. ':links', ARGV[4])
    redis.call('ZADD', KEYS[2], ARGV[4], id .. ' expired')
    expired[#expired + 1] = id
  end
end
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2])
  local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  redis.call('EXPIREAT', KEYS[2], last[2])
end
return expired
