-- subs: ARGV P, topic, then subscription names (none: all). Returns {} when
-- the topic is missing, else {published, then per subscription found:
-- name, spec, created, updated, delivered, baseline, visible, in flight,
-- delayed, oldest age ms}.
local t = load_topic(ARGV[2])
if not t then return {} end
local names = {}
if #ARGV > 2 then
  for i = 3, #ARGV do table.insert(names, ARGV[i]) end
else
  names = redis.call('HKEYS', tkey(t.name) .. ':s')
end
local out = {t.pub}
local c = tkey(t.name) .. ':c'
for _, name in ipairs(names) do
  local s = redis.call('HGET', tkey(t.name) .. ':s', name)
  if s then
    local spec = cjson.decode(s)
    local cv = redis.call('HMGET', c, name .. ':ct', name .. ':ut', name .. ':d', name .. ':b')
    local v, f, d, o = 0, 0, 0, 0
    local q = load_queue(target_queue(t.name, name, spec))
    if q then
      expire(q)
      v, f, d, o = stats(q)
    end
    local age = 0
    if o > 0 and NOW > o then age = NOW - o end
    for _, x in ipairs({name, s, cv[1] or '0', cv[2] or '0', cv[3] or '0', cv[4] or '0', v, f, d, age}) do
      table.insert(out, x)
    end
  end
end
return out
