-- Holds one message (quiet hours, review) for its account, within the account's bound, in one step.
-- KEYS: the record, the account's index by release time, its sizes (bytes per held message and a
-- `_total` field), the campaign's set (the sizes key again when there is no campaign).
-- ARGV: id, release score (unix s, or +inf for an open-ended hold), most messages, most bytes,
-- this message's bytes, TTL s, campaign ("" for none), then the record's fields and values.
-- Returns 1 when held (or held already: a retry of the same id), 0 when over the bound.
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
local count = redis.call('HLEN', KEYS[3])
if count > 0 then count = count - 1 end  -- the _total field
local total = tonumber(redis.call('HGET', KEYS[3], '_total') or '0')
local bytes = tonumber(ARGV[5])
if count + 1 > tonumber(ARGV[3]) or total + bytes > tonumber(ARGV[4]) then return 0 end
local fields = {}
for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], bytes)
redis.call('HINCRBY', KEYS[3], '_total', bytes)
local keep = {KEYS[2], KEYS[3]}
if ARGV[7] ~= '' then
  redis.call('SADD', KEYS[4], ARGV[1])
  keep[3] = KEYS[4]
end
-- The index, the sizes and the campaign's set live as long as the longest-lived record in them.
for _, k in ipairs(keep) do
  if redis.call('TTL', k) < tonumber(ARGV[6]) then redis.call('EXPIRE', k, ARGV[6]) end
end
return 1
