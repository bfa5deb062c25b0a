-- Usage tallies, once per batch: an instance numbers its batches in the order it sends them
-- (one connection, in order), so a batch whose number is not above the last one counted from
-- that instance was counted already. The same batch feeds the volume watch: messages per Saudi
-- hour of the day and per minute, and the day the account was first counted.
-- KEYS: usage hash, the account's last-counted hash, hourly hash, minutes hash, counted-since.
-- ARGV: messages field, messages, parts field, parts, usage TTL, instance, batch number,
-- hour-of-day field, minute field, Saudi day, hourly TTL, minutes TTL, since TTL.
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[6]) or '0')
if tonumber(ARGV[7]) <= last then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('HSET', KEYS[2], ARGV[6], ARGV[7])
redis.call('EXPIRE', KEYS[2], 30 * 86400)
if tonumber(ARGV[2]) > 0 then
  redis.call('HINCRBY', KEYS[3], ARGV[8], ARGV[2])
  redis.call('EXPIRE', KEYS[3], ARGV[11])
  redis.call('HINCRBY', KEYS[4], ARGV[9], ARGV[2])
  redis.call('EXPIRE', KEYS[4], ARGV[12])
end
redis.call('SET', KEYS[5], ARGV[10], 'NX')
redis.call('EXPIRE', KEYS[5], ARGV[13])
return 1
