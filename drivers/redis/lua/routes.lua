-- routes: ARGV P, topic. Returns {} or {version (gen:ver), fifo, cbd, max,
-- then name and spec of every subscription}.
local name = ARGV[2]
local v = redis.call('HMGET', tkey(name), 'gen', 'fifo', 'cbd', 'max', 'ver')
if not v[1] then return {} end
v[1] = v[1] .. ':' .. v[5]
table.remove(v, 5)
local subs = redis.call('HGETALL', tkey(name) .. ':s')
for _, x in ipairs(subs) do table.insert(v, x) end
return v
