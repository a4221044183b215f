-- send: ARGV P, name, n, then per message: blob, size, delay ms (0: the
-- queue's), dedup key, content flag ('c' when the key is the body's hash),
-- group. Returns {'missing'}, {'hash'} (the queue dedups by content: send
-- the hashes), {'nohash'} (it does not: send none), or {'ok', results...}
-- with three entries per message: code (0 stored, 1 duplicate, 2 too
-- large, 3 no group), id, FIFO sequence (16 hex or '').
local q = load_queue(ARGV[2])
if not q then return {'missing'} end
local n = tonumber(ARGV[3])
local keys = {}
for i = 0, n - 1 do
  local b = 4 + i * 6
  local content = ARGV[b + 4] == 'c'
  if content and not q.cbd then return {'nohash'} end
  if ARGV[b + 3] == '' and q.cbd then return {'hash'} end
  if ARGV[b + 3] ~= '' then table.insert(keys, q.D .. ':dd:' .. ARGV[b + 3]) end
end
-- The dedup entries of the batch's keys, read at once.
local seen = {}
if #keys > 0 then
  local prev = redis.call('MGET', unpack(keys))
  for i, k in ipairs(keys) do
    if prev[i] then seen[k] = prev[i] end
  end
end
local out = {'ok'}
local first = new_ids(n)
for i = 0, n - 1 do
  local b = 4 + i * 6
  local blob, size, delay, key, group = ARGV[b], tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), ARGV[b + 3], ARGV[b + 5]
  local dk = q.D .. ':dd:' .. key
  if size > q.max then
    push2(out, 2, ''); table.insert(out, '')
  elseif q.fifo and group == '' then
    push2(out, 3, ''); table.insert(out, '')
  elseif key ~= '' and seen[dk] then
    local pid, pseq = string.match(seen[dk], '^([^|]*)|(.*)$')
    push2(out, 1, pid); table.insert(out, pseq)
  else
    local id = idstr(first + i)
    local m = {sent = NOWS, fseq = '', tseq = '', xid = '', src = '', topic = '', group = group}
    if q.fifo then m.fseq = next_fseq(q) end
    if delay <= 0 then delay = q.delay end
    if key ~= '' then
      seen[dk] = id .. '|' .. m.fseq
      redis.call('SET', dk, seen[dk], 'PX', WINDOW)
    end
    enqueue(q, id, blob, m, NOW + delay)
    push2(out, 0, id); table.insert(out, m.fseq)
  end
end
flush_enqueued()
wake_all()
return out
