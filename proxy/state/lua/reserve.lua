-- Every stateful rule of one message in one atomic step: check all, then take all, so that a
-- refused message spends nothing. Redis' clock drives the token bucket, so instances agree.
-- KEYS: bucket, opted-out set, awareness counter, balance. ARGV: flags (1 throughput, 2 opt-out,
-- 4 awareness, 8 balance), rate, number, cap, parts, awareness TTL.
-- Returns 0 when all passed, else 1 throughput, 2 opted out, 3 awareness cap, 4 balance.
local f = tonumber(ARGV[1])
local function has(bit) return math.floor(f / bit) % 2 == 1 end
local now, tokens
if has(1) then
  local rate = tonumber(ARGV[2])
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
  tokens = tonumber(b[1]) or rate
  local ts = tonumber(b[2]) or now
  tokens = math.min(rate, tokens + math.max(0, now - ts) * rate / 1000)
  if tokens < 1 then
    redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
    redis.call('PEXPIRE', KEYS[1], 60000)
    return 1
  end
end
if has(2) and redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 then return 2 end
if has(4) and tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[4]) then return 3 end
local parts = tonumber(ARGV[5])
if has(8) and tonumber(redis.call('GET', KEYS[4]) or '0') < parts then return 4 end
if has(1) then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'ts', now)
  redis.call('PEXPIRE', KEYS[1], 60000)
end
if has(4) then
  redis.call('INCR', KEYS[3])
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[6]))
end
if has(8) then redis.call('DECRBY', KEYS[4], parts) end
return 0
