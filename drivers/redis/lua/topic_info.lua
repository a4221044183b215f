-- topic_info: ARGV P, name. Returns {} or {TF fields..., subscriptions,
-- open tails}.
local name = ARGV[2]
local out = redis.call('HMGET', tkey(name), unpack(TF))
if not out[1] then return {} end
table.insert(out, redis.call('HLEN', tkey(name) .. ':s'))
local ns = redis.call('PUBSUB', 'NUMSUB', tkey(name) .. ':live')
table.insert(out, ns[2])
return out
