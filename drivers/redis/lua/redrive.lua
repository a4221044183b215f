-- redrive: ARGV P, dead-letter queue, destination ('' moves each message
-- back to its source), most to move, since ms (only messages that entered
-- the queue by then move). Returns {code, moved, more}: code 'ok',
-- 'missing', 'dest_missing', 'no_source', 'source_gone' or 'no_group';
-- more is 1 when visible messages from before since are left.
local q = load_queue(ARGV[2])
if not q then return {'missing', 0, 0} end
expire(q)
local dest = nil
if ARGV[3] ~= '' then
  dest = load_queue(ARGV[3])
  if not dest or dest.owner ~= '' then return {'dest_missing', 0, 0} end
end
local limit = tonumber(ARGV[4])
local since = ARGV[5]
local moved = 0
local ids = redis.call('ZRANGEBYSCORE', q.D .. ':e', '-inf', since, 'LIMIT', 0, 1000)
local code = 'ok'
local more = 0
for _, id in ipairs(ids) do
  local vis = tonumber(redis.call('ZSCORE', q.D .. ':v', id))
  if vis and vis <= NOW then
    if moved >= limit then
      more = 1
      break
    end
    local m = parse_meta(redis.call('HGET', q.D .. ':h', id))
    local to = dest
    if not to then
      if m.src == '' then code = 'no_source'; break end
      to = load_queue(m.src)
      if not to then code = 'source_gone'; break end
    end
    if to.fifo and m.group == '' then code = 'no_group'; break end
    move_msg(q, id, to, false)
    moved = moved + 1
  end
end
if #ids == 1000 and code == 'ok' and moved > 0 then more = 1 end
flush_enqueued()
wake_all()
return {code, moved, more}
