-- receive: ARGV P, name, max, visibility ms (0: the queue's).
-- Returns {'missing'} or {'ok', gen, receive wait ms, ms until the next
-- message may become visible (-1: none waits), n, then per delivery: id and
-- receives|first received}. The client reads the messages themselves from
-- the hash P:Q:gen:h (fields id: metadata and blob, see common.lua) with
-- HMGET, so that their bodies do not pass through Lua. Messages that used up their
-- receives move to the dead-letter queue instead of being delivered.
local q = load_queue(ARGV[2])
if not q then return {'missing'} end
expire(q)
local max = tonumber(ARGV[3])
local vt = tonumber(ARGV[4])
if vt == 0 then vt = q.vt end
local until_ = int(NOW + vt)
local dlq = nil
if q.mr > 0 and q.dlq ~= '' then dlq = load_queue(q.dlq) end

local h, v = q.D .. ':h', q.D .. ':v'
local ids, rs, vals = {}, {}, {}

-- take delivers message id, whose 'id:r' field is r and whose value is
-- val, or dead-letters it; it reports whether it delivered.
local function take(id, r, val)
  local rc, first = 0, NOWS
  if r then
    local a, b = string.match(r, '^(%d+)|(%d+)')
    rc, first = tonumber(a), b
  end
  if dlq and rc >= q.mr then
    move_msg(q, id, dlq, true)
    return false
  end
  table.insert(ids, id)
  table.insert(rs, int(rc + 1) .. '|' .. first)
  table.insert(vals, val)
  return true
end

-- flush makes the messages taken since the last flush invisible.
local flushed = 0
local function flush()
  if flushed == #ids then return end
  local args = {}
  for i = flushed + 1, #ids do
    table.insert(args, until_)
    table.insert(args, ids[i])
  end
  redis.call('ZADD', v, unpack(args))
  flushed = #ids
end

if not q.fifo then
  for _ = 1, 100 do
    local want = max - #ids
    if want <= 0 then break end
    local got = redis.call('ZRANGEBYSCORE', v, '-inf', NOWS, 'LIMIT', 0, want)
    if #got == 0 then break end
    local fields = {}
    for i, id in ipairs(got) do fields[i] = id .. ':r' end
    local r = redis.call('HMGET', h, unpack(fields))
    local moved = false
    for i, id in ipairs(got) do
      if not take(id, r[i]) then moved = true end
    end
    flush()
    if not moved then break end
  end
else
  local f = q.D .. ':f'
  local groups = redis.call('ZRANGE', q.D .. ':rg', 0, 999)
  for _, g in ipairs(groups) do
    if #ids >= max then break end
    if group_state(q, g) == 0 then
      local took = 0
      local stop = false
      while not stop and #ids < max do
        local members = redis.call('ZRANGEBYLEX', f, '[' .. g .. '\0', '(' .. g .. '\1', 'LIMIT', took, max - #ids)
        if #members == 0 then break end
        local moved = false
        for _, mem in ipairs(members) do
          local id = string.sub(mem, -16)
          local vis = tonumber(redis.call('ZSCORE', v, id))
          if not vis or vis > NOW then
            stop = true
            break
          end
          if take(id, redis.call('HGET', h, id .. ':r')) then
            took = took + 1
          else
            moved = true
          end
        end
        if not moved then break end
      end
      if took > 0 then
        redis.call('HSET', q.D .. ':gs', g, int(took) .. '|' .. until_)
      end
    end
  end
end
flush()

local out = {'ok', q.gen, q.wait, -1, #ids}
if #ids == 0 then
  local nxt = redis.call('ZRANGEBYSCORE', v, '(' .. NOWS, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if #nxt > 0 then out[4] = tonumber(nxt[2]) - NOW end
  flush_enqueued()
  wake_all()
  return out
end
local hset = {}
for i, id in ipairs(ids) do push2(hset, id .. ':r', rs[i]) end
redis.call('HSET', h, unpack(hset))
for i, id in ipairs(ids) do push2(out, id, rs[i]) end
flush_enqueued()
wake_all()
return out
