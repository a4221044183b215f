-- topic_delete: ARGV P, name. Deletes the topic, its subscriptions and the
-- queues they own, and ends its tails. Returns 1, or 0 when missing.
local t = load_topic(ARGV[2])
if not t then return 0 end
local subs = redis.call('HGETALL', tkey(t.name) .. ':s')
for i = 1, #subs, 2 do
  drop_subscription(t, subs[i], cjson.decode(subs[i + 1]))
end
redis.call('DEL', tkey(t.name), tkey(t.name) .. ':s', tkey(t.name) .. ':c')
redis.call('SREM', P .. ':topics', t.name)
redis.call('PUBLISH', tkey(t.name) .. ':live', '!deleted')
return 1
