-- The volume watch's figures for one account, read in one step (docs/policy.md, Volume monitoring).
-- KEYS: hourly hash of today, of each of the 7 days before (yesterday first), minutes hash of
-- this hour, of the hour before, counted-since.
-- ARGV: the Saudi hour of the day (0-23), the minute of this hour (0-59), window in minutes (1-60).
-- Returns: today's messages, the same hour's messages over the 7 days before, the last window's
-- messages (this minute included), the first day counted (-1: none kept).
local today = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do today = today + tonumber(v) end
local same_hour = 0
for i = 2, 8 do same_hour = same_hour + tonumber(redis.call('HGET', KEYS[i], ARGV[1]) or '0') end
local minute, window = tonumber(ARGV[2]), tonumber(ARGV[3])
local recent = 0
for back = 0, window - 1 do
  local m = minute - back
  local key = KEYS[9]
  if m < 0 then m = m + 60; key = KEYS[10] end
  recent = recent + tonumber(redis.call('HGET', key, tostring(m)) or '0')
end
local since = tonumber(redis.call('GET', KEYS[11]) or '-1')
return {today, same_hour, recent, since}
