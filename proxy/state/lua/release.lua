-- Gives back what reserve took for a message that was not relayed. KEYS: awareness, balance.
local f = tonumber(ARGV[1])
local function has(bit) return math.floor(f / bit) % 2 == 1 end
if has(4) and redis.call('EXISTS', KEYS[1]) == 1 and redis.call('DECR', KEYS[1]) < 0 then redis.call('SET', KEYS[1], 0, 'KEEPTTL') end
if has(8) then redis.call('INCRBY', KEYS[2], ARGV[2]) end
return 0
