-- group_reset: ARGV P, stream, group, position kind, offset, time µs, then
-- partitions (none: all). Returns {'missing'}, {'nogroup'}, {'members',
-- n}, {'badpart', p, partitions}, {'beyond', p, end} or {'ok', then pairs
-- of partition and offset}.
local s = load_stream(ARGV[2])
if not s then return {'missing'} end
local group = ARGV[3]
local g = load_group(s, group)
if not g then return {'nogroup'} end
if expire_members(g, s.parts) then save_group(s, group, g) end
local n = 0
for _ in pairs(g.members) do n = n + 1 end
if n > 0 then return {'members', n} end
local parts = {}
for i = 7, #ARGV do table.insert(parts, tonumber(ARGV[i])) end
if #parts == 0 then
  for p = 0, s.parts - 1 do table.insert(parts, p) end
end
local out = {'ok'}
local offs = {}
for _, p in ipairs(parts) do
  if p < 0 or p >= s.parts then return {'badpart', p, s.parts} end
  trim(s, p)
  local off, err = start_offset(s, p, ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]))
  if not off then return {err, p, end_of(s, p)} end
  offs[p] = off
end
for p, off in pairs(offs) do
  g.committed[pk(p)] = off
  push2(out, p, off)
end
save_group(s, group, g)
return out
