-- common.lua: helpers every courier script starts with. ARGV[1] is the key
-- prefix; every key a script touches is derived from it (see doc.go for the
-- layout). Times are the Redis server's clock in milliseconds.
local P = ARGV[1]
local T = redis.call('TIME')
local NOW = tonumber(T[1]) * 1000 + math.floor(tonumber(T[2]) / 1000)

-- int formats an integral number without exponent.
local function int(n) return string.format('%d', n) end
local NOWS = int(NOW)

local WINDOW = 300000 -- the dedup window (driver.DedupWindow) in ms

-- Queue metadata fields, in the order load_queue reads them.
local QF = {'gen', 'vt', 'ret', 'delay', 'wait', 'max', 'mr', 'dlq', 'fifo', 'cbd', 'created', 'updated', 'owner'}

local function qkey(name) return P .. ':q:' .. name end

-- load_queue returns the queue named name, or nil.
local qcache = {}
local function load_queue(name)
  local c = qcache[name]
  if c ~= nil then
    if c == false then return nil end
    return c
  end
  local v = redis.call('HMGET', qkey(name), unpack(QF))
  if not v[1] then
    qcache[name] = false
    return nil
  end
  local q = {name = name, gen = v[1], vt = tonumber(v[2]), ret = tonumber(v[3]), delay = tonumber(v[4]),
    wait = tonumber(v[5]), max = tonumber(v[6]), mr = tonumber(v[7]), dlq = v[8] or '', fifo = v[9] == '1',
    cbd = v[10] == '1', created = v[11], updated = v[12], owner = v[13] or ''}
  q.D = P .. ':Q:' .. q.gen
  qcache[name] = q
  return q
end

-- A message is two fields of the queue's hash: 'id' holds its metadata, a
-- newline, then the blob the client made (the client splits them):
-- sent|fifo seq (16 hex)|topic seq|external id|source queue|topic|group.
-- 'id:r' holds receives|first received, and '|d' while a nack or an
-- extend delays it; it is absent before the first receive.
local function parse_meta(s)
  local nl = string.find(s, '\n', 1, true)
  local a, d, e, f, g, h, rest = string.match(string.sub(s, 1, nl - 1), '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
  return {sent = a, fseq = d, tseq = e, xid = f, src = g, topic = h, group = rest}, string.sub(s, nl + 1)
end

local function fmt_meta(m)
  return m.sent .. '|' .. m.fseq .. '|' .. m.tseq .. '|' .. m.xid .. '|' .. m.src .. '|' .. m.topic .. '|' .. m.group
end

-- receives returns a message's receive count from its 'id:r' field.
local function receives(r)
  if not r then return 0 end
  return tonumber(string.match(r, '^(%d+)'))
end

-- new_ids reserves n message ids and returns the first number.
local function new_ids(n)
  return redis.call('INCRBY', P .. ':seq', n) - n + 1
end
local function idstr(n) return string.format('%016x', n) end

-- next_fseq takes q's next FIFO sequence number (16 hex digits).
local function next_fseq(q)
  return string.format('%016x', redis.call('HINCRBY', qkey(q.name), 'fseq', 1))
end

-- Queues whose long polls are woken when the script ends.
local woken = {}
local function wake(name) woken[name] = true end
local function wake_all()
  for name in pairs(woken) do
    redis.call('PUBLISH', P .. ':w:' .. name, '1')
  end
end

-- fifo_member is a message's member in the FIFO order set: the group, a
-- NUL, then the FIFO sequence and id (16 hex digits each).
local function fifo_member(m, id) return m.group .. '\0' .. m.fseq .. id end

-- group_state returns a group's in-flight count and until when they are in
-- flight; a count whose time passed is 0.
local function group_state(q, g)
  local s = redis.call('HGET', q.D .. ':gs', g)
  if not s then return 0, 0 end
  local c, u = string.match(s, '^(%d+)|(%d+)$')
  c, u = tonumber(c), tonumber(u)
  if u <= NOW then return 0, u end
  return c, u
end

-- refresh_group makes the ready-group set hold group g at the FIFO
-- sequence of its first message, or drops it when it has none.
local function refresh_group(q, g)
  local head = redis.call('ZRANGEBYLEX', q.D .. ':f', '[' .. g .. '\0', '(' .. g .. '\1', 'LIMIT', 0, 1)
  if #head == 0 then
    redis.call('ZREM', q.D .. ':rg', g)
    redis.call('HDEL', q.D .. ':gs', g)
  else
    redis.call('ZADD', q.D .. ':rg', tonumber(string.sub(head[1], #g + 2, #g + 17), 16), g)
  end
end

-- leave_flight counts one message of group g as no longer in flight.
local function leave_flight(q, g)
  local c, u = group_state(q, g)
  if c > 0 then
    redis.call('HSET', q.D .. ':gs', g, int(c - 1) .. '|' .. int(u))
  end
end

-- in_flight reports whether a message is received and invisible for its
-- visibility timeout (not delayed by a nack or an extend).
local function in_flight(q, id)
  local r = redis.call('HGET', q.D .. ':h', id .. ':r')
  if not r or string.sub(r, -2) == '|d' then return false end
  local v = tonumber(redis.call('ZSCORE', q.D .. ':v', id))
  return v ~= nil and v > NOW
end

-- Messages enqueued by a script are written by flush_enqueued, with one
-- command per key for all of them.
local pending = {}

local function pending_of(q)
  local p = pending[q.name]
  if not p then
    p = {q = q, h = {}, v = {}, e = {}, d = {}, f = {}, rg = {}, ids = {}}
    pending[q.name] = p
  end
  return p
end

-- has_id reports whether q holds (or is about to hold) message key id.
local function has_id(q, id)
  local p = pending[q.name]
  if p and p.ids[id] then return true end
  return redis.call('HEXISTS', q.D .. ':h', id) == 1
end

local function push2(t, a, b)
  local n = #t
  t[n + 1] = a
  t[n + 2] = b
end

-- enqueue stores message id in q, visible at visible_at.
local function enqueue(q, id, blob, m, visible_at)
  local p = pending_of(q)
  p.ids[id] = true
  push2(p.h, id, fmt_meta(m) .. '\n' .. blob)
  local va = int(visible_at)
  push2(p.v, va, id)
  push2(p.e, NOWS, id)
  if visible_at > NOW then push2(p.d, va, id) end
  if q.fifo then
    push2(p.f, 0, fifo_member(m, id))
    push2(p.rg, tonumber(m.fseq, 16), m.group)
  end
  wake(q.name)
end

local function flush_enqueued()
  for _, p in pairs(pending) do
    local D = p.q.D
    if #p.h > 0 then
      redis.call('HSET', D .. ':h', unpack(p.h))
      redis.call('ZADD', D .. ':v', unpack(p.v))
      redis.call('ZADD', D .. ':e', unpack(p.e))
    end
    if #p.d > 0 then redis.call('ZADD', D .. ':d', unpack(p.d)) end
    if #p.f > 0 then
      redis.call('ZADD', D .. ':f', unpack(p.f))
      redis.call('ZADD', D .. ':rg', 'NX', unpack(p.rg))
    end
  end
  pending = {}
end

-- remove_msg deletes message id (metadata m) from q.
local function remove_msg(q, id, m)
  local fl = q.fifo and in_flight(q, id)
  redis.call('ZREM', q.D .. ':v', id)
  redis.call('ZREM', q.D .. ':e', id)
  redis.call('ZREM', q.D .. ':d', id)
  redis.call('HDEL', q.D .. ':h', id, id .. ':r')
  if q.fifo then
    redis.call('ZREM', q.D .. ':f', fifo_member(m, id))
    if fl then leave_flight(q, m.group) end
    refresh_group(q, m.group)
  end
end

-- move_msg moves message id from q to queue to, visible at once with a
-- fresh receive count. A dead-letter move records q as the source; a
-- redrive clears it. An id taken in to gets a new one (the message keeps
-- its external id).
local function move_msg(q, id, to, dead_letter)
  local s = redis.call('HGET', q.D .. ':h', id)
  if not s then return end
  local m, blob = parse_meta(s)
  remove_msg(q, id, m)
  local nid = id
  if has_id(to, id) then
    nid = idstr(new_ids(1))
    if m.xid == '' then m.xid = id end
  end
  if dead_letter then m.src = q.name else m.src = '' end
  if to.fifo then m.fseq = next_fseq(to) else m.fseq = '' end
  enqueue(to, nid, blob, m, NOW)
end

-- expire deletes the messages of q older than its retention period, at
-- most 1000 per call (the next call continues).
local function expire(q)
  local ids = redis.call('ZRANGEBYSCORE', q.D .. ':e', '-inf', int(NOW - q.ret), 'LIMIT', 0, 1000)
  for _, id in ipairs(ids) do
    local s = redis.call('HGET', q.D .. ':h', id)
    if s then
      remove_msg(q, id, parse_meta(s))
    else
      redis.call('ZREM', q.D .. ':e', id)
      redis.call('ZREM', q.D .. ':v', id)
    end
  end
  redis.call('ZREMRANGEBYSCORE', q.D .. ':d', '-inf', NOWS)
end

-- data_keys are every key of a queue incarnation except dedup keys, which
-- expire on their own.
local function data_keys(D)
  return {D .. ':h', D .. ':v', D .. ':e', D .. ':d', D .. ':f', D .. ':rg', D .. ':gs'}
end

-- drop_queue deletes queue q (metadata, messages, references to its
-- dead-letter queue).
local function drop_queue(q)
  if q.dlq ~= '' then
    redis.call('SREM', qkey(q.dlq) .. ':refs', 'dlq:' .. q.name)
  end
  redis.call('UNLINK', unpack(data_keys(q.D)))
  redis.call('DEL', qkey(q.name), qkey(q.name) .. ':refs')
  redis.call('SREM', P .. ':queues', q.name)
  qcache[q.name] = false
end

-- stats returns visible, in flight, delayed and the oldest enqueue time
-- (0 when empty) of q.
local function stats(q)
  local total = redis.call('ZCARD', q.D .. ':v')
  local visible = redis.call('ZCOUNT', q.D .. ':v', '-inf', NOWS)
  local delayed = redis.call('ZCOUNT', q.D .. ':d', '(' .. NOWS, '+inf')
  local oldest = redis.call('ZRANGE', q.D .. ':e', 0, 0, 'WITHSCORES')
  local o = 0
  if #oldest > 0 then o = tonumber(oldest[2]) end
  return visible, total - visible - delayed, delayed, o
end

-- check_dlq checks that queue name may use dlq as its dead-letter queue;
-- it returns nil or an error code string.
local function check_dlq(name, dlq, fifo)
  if dlq == '' then return nil end
  if dlq == name then return 'dlq_self' end
  local d = load_queue(dlq)
  if not d or d.owner ~= '' then return 'dlq_missing' end
  if d.fifo ~= fifo then return 'dlq_kind' end
  return nil
end

-- write_queue sets the attributes of queue name from args (vt, ret, delay,
-- wait, max, mr, dlq, fifo, cbd), keeping the dead-letter references right.
local function write_queue(name, a, old_dlq)
  redis.call('HSET', qkey(name), 'vt', a[1], 'ret', a[2], 'delay', a[3], 'wait', a[4], 'max', a[5], 'mr', a[6],
    'dlq', a[7], 'fifo', a[8], 'cbd', a[9], 'updated', NOWS)
  if old_dlq ~= a[7] then
    if old_dlq ~= '' then redis.call('SREM', qkey(old_dlq) .. ':refs', 'dlq:' .. name) end
    if a[7] ~= '' then redis.call('SADD', qkey(a[7]) .. ':refs', 'dlq:' .. name) end
  end
  qcache[name] = nil
end

-- create_queue creates queue name (owned by owner, '' for user queues).
local function create_queue(name, a, owner)
  local gen = redis.call('INCR', P .. ':gen')
  redis.call('HSET', qkey(name), 'gen', gen, 'created', NOWS, 'owner', owner, 'fseq', 0)
  write_queue(name, a, '')
  if owner == '' then redis.call('SADD', P .. ':queues', name) end
end

-- queue_fields returns the metadata of queue name as a flat list for the
-- client: the QF fields.
local function queue_fields(name)
  return redis.call('HMGET', qkey(name), unpack(QF))
end
