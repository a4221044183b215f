-- topic_create: ARGV P, name, fifo, cbd, max. Returns {code, TF fields...}
-- with code 'created', 'exists' or 'conflict'.
local name = ARGV[2]
local t = load_topic(name)
if t then
  local code = 'exists'
  local old = redis.call('HMGET', tkey(name), 'fifo', 'cbd', 'max')
  if old[1] ~= ARGV[3] or old[2] ~= ARGV[4] or old[3] ~= ARGV[5] then code = 'conflict' end
  local out = redis.call('HMGET', tkey(name), unpack(TF))
  table.insert(out, 1, code)
  return out
end
local gen = redis.call('INCR', P .. ':gen')
redis.call('HSET', tkey(name), 'gen', gen, 'fifo', ARGV[3], 'cbd', ARGV[4], 'max', ARGV[5], 'created', NOWS,
  'pub', 0, 'fseq', 0, 'ver', 0)
redis.call('SADD', P .. ':topics', name)
local out = redis.call('HMGET', tkey(name), unpack(TF))
table.insert(out, 1, 'created')
return out
