-- `hajib review approve|reject`: decides one campaign (proxy/review/). The record keeps who, when and
-- why; it leaves the pending index and enters the decided one ("ID STATE", scored by when the
-- decision lapses, which is also when the record and its links expire). Decided entries that have
-- lapsed are pruned here.
-- KEYS: the record, its links, the account's pending index, its decided index.
-- ARGV: id, state (approved | rejected), by, at (unix s), reason, until (unix s).
-- Returns the state before, or false when there is no such campaign.
local before = redis.call('HGET', KEYS[1], 'state')
if not before then return false end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'by', ARGV[3], 'at', ARGV[4], 'reason', ARGV[5], 'until', ARGV[6])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1] .. ' approved', ARGV[1] .. ' rejected', ARGV[1] .. ' expired')
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[1] .. ' ' .. ARGV[2])
redis.call('EXPIREAT', KEYS[1], ARGV[6])
redis.call('EXPIREAT', KEYS[2], ARGV[6])
local last = redis.call('ZRANGE', KEYS[4], -1, -1, 'WITHSCORES')
redis.call('EXPIREAT', KEYS[4], last[2])
return before
