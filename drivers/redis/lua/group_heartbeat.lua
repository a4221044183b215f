-- group_heartbeat: ARGV P, stream, group, member. Returns {'missing'},
-- {'fenced'} or {'ok', assignment...}.
local s = load_stream(ARGV[2])
if not s then return {'missing'} end
local g, err = lock_member(s, ARGV[3], ARGV[4])
if not g then return {err} end
local a = assignment(s, g, ARGV[4])
save_group(s, ARGV[3], g)
table.insert(a, 1, 'ok')
return a
