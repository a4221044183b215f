-- ack: ARGV P, name, then per receipt: gen, id, receive count. Returns
-- {'missing'} or {'ok', codes...}: 0 acked (or already gone), 1 stale (the
-- message was delivered again since), 2 the receipt belongs to another
-- queue.
local q = load_queue(ARGV[2])
if not q then return {'missing'} end
local h = q.D .. ':h'
local out = {'ok'}
local n = (#ARGV - 2) / 3
local fields = {}
for i = 0, n - 1 do fields[i + 1] = ARGV[4 + i * 3] .. ':r' end
local r = redis.call('HMGET', h, unpack(fields))
local gone, hdel, done, delayed = {}, {}, {}, {}
for i = 0, n - 1 do
  local gen, id, rc = ARGV[3 + i * 3], ARGV[4 + i * 3], tonumber(ARGV[5 + i * 3])
  if gen ~= q.gen then
    table.insert(out, 2)
  elseif done[id] then
    table.insert(out, 0) -- a second receipt of a message acked in this call
  elseif not r[i + 1] then
    -- Never received: the receipt is stale if the message exists.
    if redis.call('HEXISTS', h, id) == 1 then table.insert(out, 1) else table.insert(out, 0) end
  elseif receives(r[i + 1]) ~= rc then
    table.insert(out, 1)
  else
    table.insert(out, 0)
    done[id] = true
    if q.fifo then
      remove_msg(q, id, parse_meta(redis.call('HGET', h, id)))
    else
      table.insert(gone, id)
      push2(hdel, id, id .. ':r')
      if string.sub(r[i + 1], -2) == '|d' then table.insert(delayed, id) end
    end
  end
end
if #gone > 0 then
  redis.call('ZREM', q.D .. ':v', unpack(gone))
  redis.call('ZREM', q.D .. ':e', unpack(gone))
  redis.call('HDEL', h, unpack(hdel))
end
if #delayed > 0 then
  redis.call('ZREM', q.D .. ':d', unpack(delayed))
end
return out
