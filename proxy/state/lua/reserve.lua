-- Every stateful rule of one or more messages of one account, message after message, each in one
-- step: check all, then take all, so that a refused message spends nothing. The messages of one
-- loop turn come in one call. Redis' clock drives the token bucket, so instances agree.
-- KEYS: bucket, opted-out set, balance, then one awareness counter per message.
-- ARGV: rate, awareness TTL, then four per message: flags (1 throughput, 2 opt-out, 4 awareness,
-- 8 balance), number, cap, parts.
-- Returns one code per message: 0 when all passed, else 1 throughput, 2 opted out, 3 awareness
-- cap, 4 balance.
local rate, aware_ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local now, tokens
local out = {}
for i = 1, (#ARGV - 2) / 4 do
  local a = 2 + (i - 1) * 4
  local f, number, cap, parts = tonumber(ARGV[a + 1]), ARGV[a + 2], tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local aware = KEYS[3 + i]
  local function has(bit) return math.floor(f / bit) % 2 == 1 end
  local code = 0
  if has(1) then
    if not now then
      local t = redis.call('TIME')
      now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
      tokens = tonumber(b[1]) or rate
      local ts = tonumber(b[2]) or now
      tokens = math.min(rate, tokens + math.max(0, now - ts) * rate / 1000)
    end
    if tokens < 1 then code = 1 end
  end
  if code == 0 and has(2) and redis.call('SISMEMBER', KEYS[2], number) == 1 then code = 2 end
  if code == 0 and has(4) and tonumber(redis.call('GET', aware) or '0') >= cap then code = 3 end
  if code == 0 and has(8) and tonumber(redis.call('GET', KEYS[3]) or '0') < parts then code = 4 end
  if code == 0 then
    if has(1) then tokens = tokens - 1 end
    if has(4) then
      redis.call('INCR', aware)
      redis.call('EXPIRE', aware, aware_ttl)
    end
    if has(8) then redis.call('DECRBY', KEYS[3], parts) end
  end
  out[i] = code
end
if now then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
  redis.call('PEXPIRE', KEYS[1], 60000)
end
return out
