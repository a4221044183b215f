-- group_poll: ARGV P, stream, group, member, max records. Reads from the
-- member's partitions at its positions, starting at a rotating partition,
-- and advances the positions. Returns {'missing'}, {'fenced'} or {'ok',
-- assignment..., session ms, n, then per record: partition, offset, time,
-- blob}.
local s = load_stream(ARGV[2])
if not s then return {'missing'} end
local group, name = ARGV[3], ARGV[4]
local g, err = lock_member(s, group, name)
if not g then return {err} end
local m = g.members[name]
local a, parts, offs = assignment(s, g, name)
local left = tonumber(ARGV[5])
local recs = {}
local total = 0
local np = #parts
for k = 0, np - 1 do
  if left <= 0 then break end
  local i = (NOW + k) % np + 1
  local p = parts[i]
  trim(s, p)
  local nxt, n = collect(s, p, offs[i], left, 4194304, recs)
  m.pos[pk(p)] = nxt
  left = left - n
  total = total + n
end
save_group(s, group, g)
table.insert(a, 1, 'ok')
table.insert(a, m.session)
table.insert(a, total)
for _, x in ipairs(recs) do table.insert(a, x) end
return a
