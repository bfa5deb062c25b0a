-- Makes held messages due at a time: a campaign's (approved), one (`hajib held release ID`) or
-- all of an account's; with `drop`, marks them dropped (the releasing proxy then gives each a
-- failure receipt instead of relaying it). Returns how many.
-- KEYS: the index, the campaign's set (the index again when not by campaign).
-- ARGV: at (the index's score: unix s, or 1 for "at once, whatever the proxies' clock"), mode
-- (campaign | id | all), id, record key prefix, drop ("1" or ""), the release time to record
-- (default: at).
local ids
if ARGV[2] == 'campaign' then ids = redis.call('SMEMBERS', KEYS[2])
elseif ARGV[2] == 'all' then ids = redis.call('ZRANGE', KEYS[1], 0, -1)
else ids = {ARGV[3]} end
local n = 0
for _, id in ipairs(ids) do
  local record = ARGV[4] .. id
  if redis.call('EXISTS', record) == 1 then
    redis.call('ZADD', KEYS[1], ARGV[1], id)
    redis.call('HSET', record, 'release_at', ARGV[6] or ARGV[1])
    if ARGV[5] == '1' then redis.call('HSET', record, 'dropped', '1') end
    n = n + 1
  end
end
return n
