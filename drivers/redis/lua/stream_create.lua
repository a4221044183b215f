-- stream_create: ARGV P, name, parts, ret ms, retb, compact, dret ms, max.
-- Returns 'created', 'exists' or 'conflict'.
local name = ARGV[2]
local a = {ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]}
local old = redis.call('HMGET', skey(name), 'parts', 'ret', 'retb', 'compact', 'dret', 'max')
if old[1] then
  for i = 1, 6 do
    if old[i] ~= a[i] then return 'conflict' end
  end
  return 'exists'
end
local gen = redis.call('INCR', P .. ':gen')
redis.call('HSET', skey(name), 'gen', gen, 'parts', a[1], 'ret', a[2], 'retb', a[3], 'compact', a[4], 'dret', a[5],
  'max', a[6], 'created', NOWS, 'rr', 0)
redis.call('SADD', P .. ':streams', name)
return 'created'
