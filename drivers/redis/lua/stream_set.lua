-- stream_set: ARGV P, name, parts, ret ms, retb, compact, dret ms, max.
-- Returns 'ok', 'missing', 'compact' (cannot change) or 'shrink'
-- (partitions cannot decrease).
local s = load_stream(ARGV[2])
if not s then return 'missing' end
if (ARGV[6] == '1') ~= s.compact then return 'compact' end
if tonumber(ARGV[3]) < s.parts then return 'shrink' end
redis.call('HSET', skey(s.name), 'parts', ARGV[3], 'ret', ARGV[4], 'retb', ARGV[5], 'dret', ARGV[7], 'max', ARGV[8])
return 'ok'
