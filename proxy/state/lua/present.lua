-- Whether Redis still has what it had: the marker exists unless Redis lost its data. Sets it.
local had = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1')
return had
