-- publish: ARGV P, topic, routing version (gen:ver), n, then per message: blob,
-- size, dedup key, content flag, group, number of targets, then per
-- target: subscription, queue, raw ('1' or '0'). Returns {'missing'},
-- {'stale'} (the subscriptions changed: match again), {'hash'},
-- {'nohash'}, or {'ok', results...} with three entries per message: code
-- (0 stored, 1 duplicate, 2 too large, 3 no group), id, topic sequence.
local t = load_topic(ARGV[2])
if not t then return {'missing'} end
if t.gen .. ':' .. t.ver ~= ARGV[3] then return {'stale'} end
local n = tonumber(ARGV[4])
local b = 5
local msgs = {}
for i = 1, n do
  local m = {blob = ARGV[b], size = tonumber(ARGV[b + 1]), key = ARGV[b + 2], content = ARGV[b + 3] == 'c',
    group = ARGV[b + 4], targets = {}}
  local nt = tonumber(ARGV[b + 5])
  b = b + 6
  for j = 1, nt do
    m.targets[j] = {sub = ARGV[b], queue = ARGV[b + 1], raw = ARGV[b + 2] == '1'}
    b = b + 3
  end
  if m.content and not t.cbd then return {'nohash'} end
  if m.key == '' and t.cbd then return {'hash'} end
  msgs[i] = m
end
-- The dedup entries of the batch's keys, read at once.
local seen = {}
local keys = {}
for _, msg in ipairs(msgs) do
  if msg.key ~= '' then table.insert(keys, t.D .. ':dd:' .. msg.key) end
end
if #keys > 0 then
  local prev = redis.call('MGET', unpack(keys))
  for i, k in ipairs(keys) do
    if prev[i] then seen[k] = prev[i] end
  end
end
local out = {'ok'}
local first = new_ids(n)
local live = tkey(t.name) .. ':live'
local counts = {}
local stored = 0
for i, msg in ipairs(msgs) do
  local dk = t.D .. ':dd:' .. msg.key
  if msg.size > t.max then
    push2(out, 2, ''); table.insert(out, '')
  elseif t.fifo and msg.group == '' then
    push2(out, 3, ''); table.insert(out, '')
  elseif msg.key ~= '' and seen[dk] then
    local pid, pseq = string.match(seen[dk], '^([^|]*)|(.*)$')
    push2(out, 1, pid); table.insert(out, pseq)
  else
    local id = idstr(first + i - 1)
    local tseq = ''
    if t.fifo then tseq = int(redis.call('HINCRBY', tkey(t.name), 'fseq', 1)) end
    if msg.key ~= '' then
      seen[dk] = id .. '|' .. tseq
      redis.call('SET', dk, seen[dk], 'PX', WINDOW)
    end
    stored = stored + 1
    for _, tg in ipairs(msg.targets) do
      local q = load_queue(tg.queue)
      if q then
        local m = {sent = NOWS, fseq = '', tseq = tseq, xid = '', src = '', topic = t.name, group = msg.group}
        if tg.raw then m.topic = '' end
        if q.fifo then m.fseq = next_fseq(q) end
        local qid = id
        if has_id(q, id) then -- two subscriptions into one queue
          qid = idstr(new_ids(1))
          m.xid = id
        end
        enqueue(q, qid, msg.blob, m, NOW + q.delay)
        counts[tg.sub] = (counts[tg.sub] or 0) + 1
      end
    end
    redis.call('PUBLISH', live, id .. '|' .. NOWS .. '|' .. tseq .. '|' .. msg.blob)
    push2(out, 0, id); table.insert(out, tseq)
  end
end
flush_enqueued()
local c = tkey(t.name) .. ':c'
for sub, k in pairs(counts) do redis.call('HINCRBY', c, sub .. ':d', k) end
if stored > 0 then redis.call('HINCRBY', tkey(t.name), 'pub', stored) end
wake_all()
return out
