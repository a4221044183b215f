-- subscribe: ARGV P, topic, sub, expected spec ('' for none), new spec,
-- then for durable subscriptions the owned queue's attributes (vt, ret,
-- delay, wait, max, mr, dlq, fifo, cbd). Returns {code, created, updated}:
-- code 'ok', 'missing' (topic), 'retry' (the subscription changed since it
-- was read), 'queue_missing', 'queue_kind', 'too_many' or a dead-letter
-- error code.
local t = load_topic(ARGV[2])
if not t then return {'missing'} end
local sub, expected, new = ARGV[3], ARGV[4], ARGV[5]
local old = redis.call('HGET', tkey(t.name) .. ':s', sub)
if (old or '') ~= expected then return {'retry'} end
local spec = cjson.decode(new)
local oname = owned_name(t.name, sub)
if spec.kind == 'queue' then
  local q = load_queue(spec.queue)
  if not q or q.owner ~= '' then return {'queue_missing'} end
  if q.fifo ~= t.fifo then return {'queue_kind'} end
  redis.call('SADD', qkey(spec.queue) .. ':refs', 'sub:' .. oname)
else
  local a = {ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13], ARGV[14]}
  local bad = check_dlq(oname, a[7], t.fifo)
  if bad then return {bad} end
  local q = load_queue(oname)
  if q then
    write_queue(oname, a, q.dlq)
  else
    create_queue(oname, a, oname)
  end
end
local c = tkey(t.name) .. ':c'
if not old then
  if redis.call('HLEN', tkey(t.name) .. ':s') >= 1000 then return {'too_many'} end
  redis.call('HSET', c, sub .. ':d', 0, sub .. ':b', t.pub, sub .. ':ct', NOWS)
end
redis.call('HSET', c, sub .. ':ut', NOWS)
redis.call('HSET', tkey(t.name) .. ':s', sub, new)
redis.call('HINCRBY', tkey(t.name), 'ver', 1)
return {'ok', redis.call('HGET', c, sub .. ':ct'), NOWS}
