-- The parts of one account's long messages that no live instance holds: the owner key is gone
-- (its holder stopped renewing it) or is ours. Claims them for us. Reads the account's index of
-- held messages (bounded by limits.long_messages_max), dropping members whose parts expired.
-- KEYS: the index. ARGV: owner, claim ms, parts key prefix, owner key prefix (same hash tag).
local out = {}
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local parts_key, owner_key = ARGV[3] .. m, ARGV[4] .. m
  if redis.call('EXISTS', parts_key) == 0 then
    redis.call('SREM', KEYS[1], m)
  else
    local owner = redis.call('GET', owner_key)
    if not owner or owner == ARGV[1] then
      redis.call('SET', owner_key, ARGV[1], 'PX', tonumber(ARGV[2]))
      local fields = redis.call('HGETALL', parts_key)
      for i = 1, #fields, 2 do
        table.insert(out, m); table.insert(out, fields[i]); table.insert(out, fields[i + 1])
      end
    end
  end
end
return out
