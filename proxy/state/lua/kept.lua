-- At least ARGV[1] kept deliveries when the hash holds that many, and never more than twice as
-- many (fields and values, in pairs). HSCAN's cursor is followed, since one call may return
-- nothing from a sparse hash (after many deletions) though it holds thousands; and one call may
-- return a small hash whole, hence the cap. The hash is bounded by limits.pending_receipts_max,
-- so one pass stays short. KEYS: kept hash.
local out, cursor, want = {}, '0', 2 * tonumber(ARGV[1])
local cap = 2 * want
repeat
  local r = redis.call('HSCAN', KEYS[1], cursor, 'COUNT', 100)
  cursor = r[1]
  for _, v in ipairs(r[2]) do
    if #out >= cap then break end
    table.insert(out, v)
  end
until cursor == '0' or #out >= want
return out
