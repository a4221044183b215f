-- unsubscribe: ARGV P, topic, sub. Returns 'ok', 'missing' (topic) or
-- 'nosub'.
local t = load_topic(ARGV[2])
if not t then return 'missing' end
local old = redis.call('HGET', tkey(t.name) .. ':s', ARGV[3])
if not old then return 'nosub' end
drop_subscription(t, ARGV[3], cjson.decode(old))
redis.call('HINCRBY', tkey(t.name), 'ver', 1)
return 'ok'
