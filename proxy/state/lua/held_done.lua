-- A held message has its final outcome (relayed, refused, expired, dropped): its record, lease,
-- index entry, size and campaign membership go.
-- KEYS: the record, the index, the sizes, the lease. ARGV: id, campaign set key prefix.
local campaign = redis.call('HGET', KEYS[1], 'campaign')
if campaign and campaign ~= '' then redis.call('SREM', ARGV[2] .. campaign, ARGV[1]) end
redis.call('DEL', KEYS[1], KEYS[4])
redis.call('ZREM', KEYS[2], ARGV[1])
local bytes = redis.call('HGET', KEYS[3], ARGV[1])
if bytes then
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('HINCRBY', KEYS[3], '_total', -tonumber(bytes))
end
return 1
