-- Usage tallies, once per batch: an instance numbers its batches in the order it sends them
-- (one connection, in order), so a batch whose number is not above the last one counted from
-- that instance was counted already. KEYS: usage hash, the account's last-counted hash.
-- ARGV: messages field, messages, parts field, parts, usage TTL, instance, batch number.
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[6]) or '0')
if tonumber(ARGV[7]) <= last then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('HSET', KEYS[2], ARGV[6], ARGV[7])
redis.call('EXPIRE', KEYS[2], 30 * 86400)
return 1
