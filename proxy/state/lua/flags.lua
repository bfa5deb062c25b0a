-- Flagged messages of one account and Saudi day, by rule: a count, and up to 5 masked examples
-- that differ from each other (a campaign of a million alike says nothing more with a sixth).
-- KEYS: the day's flags hash. ARGV: rule, count, TTL, examples (masked already) ...
redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
for i = 4, #ARGV do
  for slot = 1, 5 do
    local field = ARGV[1] .. ':' .. slot
    local kept = redis.call('HGET', KEYS[1], field)
    if not kept then
      redis.call('HSET', KEYS[1], field, ARGV[i])
      break
    end
    if kept == ARGV[i] then break end
  end
end
return 1
