-- group_join: ARGV P, stream, group, member, session ms, start
-- ('earliest' or 'latest'). Returns {'missing'} or {'ok', assignment...}
-- (see assignment in stream_common.lua).
local s = load_stream(ARGV[2])
if not s then return {'missing'} end
local group, name = ARGV[3], ARGV[4]
local g = load_group(s, group)
if not g then
  g = {start = ARGV[6], gen = 0, committed = {}, members = {}, owner = {}, agen = {}, move = {}}
  if ARGV[6] == 'latest' then
    for p = 0, s.parts - 1 do g.committed[pk(p)] = end_of(s, p) end
  end
  redis.call('SADD', s.D .. ':gs', group)
end
expire_members(g, s.parts)
local m = g.members[name]
if not m then
  m = {pos = {}}
  g.members[name] = m
  m.seen, m.session = NOW, tonumber(ARGV[5])
  rebalance(g, s.parts)
end
m.seen, m.session = NOW, tonumber(ARGV[5])
-- A member that joins again (a restarted consumer, typically) reads from
-- the committed offsets, not from where its previous incarnation polled.
m.pos = {}
settle(g, name, s.parts)
local a = assignment(s, g, name)
save_group(s, group, g)
table.insert(a, 1, 'ok')
return a
