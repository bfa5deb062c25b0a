-- A message of a campaign not yet decided was seen (proxy/review/): the first one writes the record
-- (account, sender, template, example text, first seen) and indexes it as pending; every one adds
-- to the count held, and its links to the campaign's set while it has fewer than ARGV[8].
-- KEYS: the record, its links, the account's pending index.
-- ARGV: id, account, sender, template, example, now (unix s), life of a pending record (s), most links,
-- most pending campaigns of the account, links...
-- Returns 1 when this call created the record, -1 when the account has too many pending to add one.
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[9]) then return -1 end
local created = redis.call('HSETNX', KEYS[1], 'state', 'pending')
if created == 1 then
  redis.call('HSET', KEYS[1], 'account', ARGV[2], 'sender', ARGV[3], 'template', ARGV[4], 'example', ARGV[5],
             'first_seen', ARGV[6])
  redis.call('EXPIRE', KEYS[1], ARGV[7])
  redis.call('ZADD', KEYS[3], 'NX', ARGV[6], ARGV[1])
  redis.call('EXPIRE', KEYS[3], ARGV[7])
end
redis.call('HINCRBY', KEYS[1], 'held', 1)
local room = tonumber(ARGV[8]) - redis.call('SCARD', KEYS[2])
for i = 10, #ARGV do
  if room <= 0 then break end
  room = room - redis.call('SADD', KEYS[2], ARGV[i])
end
local ttl = redis.call('TTL', KEYS[1])
if #ARGV >= 10 and ttl > 0 then redis.call('EXPIRE', KEYS[2], ttl) end
return created
