-- group_delete: ARGV P, stream, group. Returns 'ok', 'missing', 'nogroup'
-- or 'members'.
local s = load_stream(ARGV[2])
if not s then return 'missing' end
local g = load_group(s, ARGV[3])
if not g then return 'nogroup' end
expire_members(g, s.parts)
if next(g.members) then
  save_group(s, ARGV[3], g)
  return 'members'
end
redis.call('DEL', gkey(s, ARGV[3]))
redis.call('SREM', s.D .. ':gs', ARGV[3])
return 'ok'
