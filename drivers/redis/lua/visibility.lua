-- visibility: ARGV P, name, d ms, then per receipt: gen, id, receive count.
-- Makes the messages visible d from now (d = 0: at once; otherwise they
-- count as delayed until then). Returns {'missing'} or {'ok', codes...}: 0
-- done, 1 stale (delivered again since, or not since a redrive), 2 another
-- queue's receipt, 3 the message no longer exists.
local q = load_queue(ARGV[2])
if not q then return {'missing'} end
local d = tonumber(ARGV[3])
local at = int(NOW + d)
local out = {'ok'}
local n = (#ARGV - 3) / 3
for i = 0, n - 1 do
  local gen, id, rc = ARGV[4 + i * 3], ARGV[5 + i * 3], tonumber(ARGV[6 + i * 3])
  local h = q.D .. ':h'
  local r = redis.call('HGET', h, id .. ':r')
  if gen ~= q.gen then
    table.insert(out, 2)
  elseif not r and redis.call('HEXISTS', h, id) == 0 then
    table.insert(out, 3)
  elseif receives(r) ~= rc then
    table.insert(out, 1)
  else
    do
      if q.fifo and in_flight(q, id) then leave_flight(q, parse_meta(redis.call('HGET', h, id)).group) end
      local base = string.gsub(r, '|d$', '')
      redis.call('ZADD', q.D .. ':v', at, id)
      if d > 0 then
        redis.call('ZADD', q.D .. ':d', at, id)
        redis.call('HSET', h, id .. ':r', base .. '|d')
      else
        redis.call('ZREM', q.D .. ':d', id)
        redis.call('HSET', h, id .. ':r', base)
        wake(q.name)
      end
      table.insert(out, 0)
    end
  end
end
wake_all()
return out
