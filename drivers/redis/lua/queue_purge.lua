-- queue_purge: ARGV P, name. Deletes every message; returns how many, or
-- -1 when the queue does not exist.
local q = load_queue(ARGV[2])
if not q then return -1 end
expire(q)
local n = redis.call('ZCARD', q.D .. ':v')
redis.call('UNLINK', unpack(data_keys(q.D)))
return n
