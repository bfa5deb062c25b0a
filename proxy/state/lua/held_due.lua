-- Claims an account's held messages that are due (release time <= now) and that no live instance
-- is releasing (no lease, or ours), with a lease for us, oldest first, at most `limit`. A record
-- gone by its TTL leaves the index and the bound. Returns id, {record fields} pairs.
-- KEYS: the index by release time, the sizes. ARGV: owner, lease ms, now, limit, record key
-- prefix, lease key prefix (same hash tag).
local out = {}
local n, limit = 0, tonumber(ARGV[4])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3], 'LIMIT', 0, limit * 4 + 16)) do
  if n >= limit then break end
  local record = ARGV[5] .. id
  if redis.call('EXISTS', record) == 0 then
    redis.call('ZREM', KEYS[1], id)
    local bytes = redis.call('HGET', KEYS[2], id)
    if bytes then
      redis.call('HDEL', KEYS[2], id)
      redis.call('HINCRBY', KEYS[2], '_total', -tonumber(bytes))
    end
  else
    local lease = ARGV[6] .. id
    local holder = redis.call('GET', lease)
    if not holder or holder == ARGV[1] then
      redis.call('SET', lease, ARGV[1], 'PX', tonumber(ARGV[2]))
      out[#out + 1] = id
      out[#out + 1] = redis.call('HGETALL', record)
      n = n + 1
    end
  end
end
return out
