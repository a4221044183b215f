-- group_leave: ARGV P, stream, group, member. Returns 'ok', 'missing' or
-- 'fenced'.
local s = load_stream(ARGV[2])
if not s then return 'missing' end
local g, err = lock_member(s, ARGV[3], ARGV[4])
if not g then return err end
g.members[ARGV[4]] = nil
rebalance(g, s.parts)
save_group(s, ARGV[3], g)
return 'ok'
