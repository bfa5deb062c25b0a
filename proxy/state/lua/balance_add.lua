-- `hajib balance add`: adds ARGV[1] (possibly negative) to the balance KEYS[1] in one step, so that
-- no message charged in between can be lost. A negative amount larger than the balance is refused
-- unless ARGV[2] is "1" (--force): an ops typo must not leave a customer owing.
-- Returns {balance after, 1} when added, {balance as it is, 0} when refused.
local now = tonumber(redis.call('GET', KEYS[1]) or '0')
local delta = tonumber(ARGV[1])
if delta < 0 and now + delta < 0 and ARGV[2] ~= '1' then
  return {now, 0}
end
return {redis.call('INCRBY', KEYS[1], ARGV[1]), 1}
