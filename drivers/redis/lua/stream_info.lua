-- stream_info: ARGV P, name. Returns '' when missing, else a JSON document:
-- attributes, created, partitions (first, end, records, bytes) and groups
-- (generation, start, members with partitions and last seen, committed,
-- lag). Retention and member sessions are applied first.
local s = load_stream(ARGV[2])
if not s then return '' end
local info = {parts = s.parts, ret = s.ret, retb = s.retb, compact = s.compact, dret = s.dret, max = s.max,
  created = tonumber(s.created), partitions = {}, groups = {}}
local firsts, ends = {}, {}
for p = 0, s.parts - 1 do
  trim(s, p)
  firsts[p] = first_offset(s, p)
  ends[p] = end_of(s, p)
  table.insert(info.partitions, {first = firsts[p], ['end'] = ends[p], records = redis.call('XLEN', pkey(s, p)),
    bytes = tonumber(redis.call('HGET', ckey(s), p .. ':bytes')) or 0})
end
for _, name in ipairs(redis.call('SMEMBERS', s.D .. ':gs')) do
  local g = load_group(s, name)
  if g then
    if expire_members(g, s.parts) then save_group(s, name, g) end
    local gi = {name = name, gen = g.gen, start = g.start, members = {}, committed = {}, lag = {}}
    for n, m in pairs(g.members) do
      table.insert(gi.members, {name = n, seen = m.seen, partitions = owned(g, n, s.parts)})
    end
    for p = 0, s.parts - 1 do
      local c = g.committed[pk(p)]
      if c ~= nil then gi.committed[pk(p)] = c else c = firsts[p] end
      gi.lag[pk(p)] = math.max(ends[p] - math.max(c, firsts[p]), 0)
    end
    table.insert(info.groups, gi)
  end
end
return cjson.encode(info)
