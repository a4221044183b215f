-- queue_delete: ARGV P, name. Returns 'ok', 'missing' or 'refs' followed by
-- the references (dead-letter users, subscriptions) that keep it.
local q = load_queue(ARGV[2])
if not q or q.owner ~= '' then return {'missing'} end
local refs = redis.call('SMEMBERS', qkey(q.name) .. ':refs')
if #refs > 0 then
  table.insert(refs, 1, 'refs')
  return refs
end
drop_queue(q)
return {'ok'}
