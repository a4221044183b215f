-- group_commit: ARGV P, stream, group, member, generation, then pairs of
-- partition and offset. Returns {'ok'}, {'missing'}, {'fenced', p},
-- {'badpart', p, partitions} or {'badoff', p, end}.
local s = load_stream(ARGV[2])
if not s then return {'missing'} end
local group, name, gen = ARGV[3], ARGV[4], tonumber(ARGV[5])
local g = load_group(s, group)
if not g then return {'fenced', -1} end
if expire_members(g, s.parts) then save_group(s, group, g) end
local m = g.members[name]
if not m then return {'fenced', -1} end
m.seen = NOW
for i = 6, #ARGV, 2 do
  local p, off = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  if p < 0 or p >= s.parts then return {'badpart', p, s.parts} end
  local e = end_of(s, p)
  if off < 0 or off > e then return {'badoff', p, e} end
  local k = pk(p)
  if g.owner[k] ~= name or gen < (g.agen[k] or 0) or gen > g.gen then return {'fenced', p} end
end
for i = 6, #ARGV, 2 do g.committed[pk(tonumber(ARGV[i]))] = tonumber(ARGV[i + 1]) end
save_group(s, group, g)
return {'ok'}
