-- Drops a bucket's expired mappings (Redis 7.0 has no per-field TTL); the value starts with its
-- expiry, 4 bytes big-endian (see encode_mapping). KEYS: bucket. ARGV: now.
local now, n, all = tonumber(ARGV[1]), 0, redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local a, b, c, d = string.byte(all[i + 1], 1, 4)
  if not d or ((a * 256 + b) * 256 + c) * 256 + d < now then redis.call('HDEL', KEYS[1], all[i]); n = n + 1 end
end
return n
