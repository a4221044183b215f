-- stream_common.lua: helpers of the stream scripts (after common.lua).
-- A stream is hash P:s:NAME (attributes, gen, round-robin counter); its
-- partition i is the Redis stream P:S:gen:p:i whose entry IDs are
-- "OFFSET-1", with fields t (append time, server microseconds), s (size)
-- and v (the record's blob), and k (the key) on compacted streams. Hash
-- P:S:gen:c counts per partition: 'i:end' (next offset), 'i:bytes',
-- 'i:ts' (last timestamp). Compacted streams add hash P:S:gen:k:i (key ->
-- offset of its latest record) and sorted set P:S:gen:t:i (delete markers
-- by time). Consumer groups are JSON documents P:S:gen:g:GROUP, listed in
-- set P:S:gen:gs.
local NOWUS = tonumber(T[1]) * 1000000 + tonumber(T[2])

local function skey(name) return P .. ':s:' .. name end

local SF = {'gen', 'parts', 'ret', 'retb', 'compact', 'dret', 'max', 'created'}

local function load_stream(name)
  local v = redis.call('HMGET', skey(name), unpack(SF))
  if not v[1] then return nil end
  return {name = name, gen = v[1], parts = tonumber(v[2]), ret = tonumber(v[3]), retb = tonumber(v[4]),
    compact = v[5] == '1', dret = tonumber(v[6]), max = tonumber(v[7]), created = v[8], D = P .. ':S:' .. v[1]}
end

local function pkey(s, p) return s.D .. ':p:' .. p end
local function ckey(s) return s.D .. ':c' end
local function entry_id(off) return string.format('%d-1', off) end

local function end_of(s, p)
  return tonumber(redis.call('HGET', ckey(s), p .. ':end')) or 0
end

local function offset_of(id) return tonumber(string.match(id, '^(%d+)')) end

-- fields turns an entry's field list into a table.
local function fields(f)
  local t = {}
  for i = 1, #f, 2 do t[f[i]] = f[i + 1] end
  return t
end

-- first_offset is the oldest retained offset of partition p (its end when
-- it is empty).
local function first_offset(s, p)
  local e = redis.call('XRANGE', pkey(s, p), '-', '+', 'COUNT', 1)
  if #e == 0 then return end_of(s, p) end
  return offset_of(e[1][1])
end

-- drop_entry deletes the record at offset off of partition p (given its
-- fields), keeping the counters and the compaction state right.
local function drop_entry(s, p, off, f)
  redis.call('XDEL', pkey(s, p), entry_id(off))
  redis.call('HINCRBY', ckey(s), p .. ':bytes', -tonumber(f.s))
  if s.compact and f.k then
    local kk = s.D .. ':k:' .. p
    if tonumber(redis.call('HGET', kk, f.k)) == off then redis.call('HDEL', kk, f.k) end
    redis.call('ZREM', s.D .. ':t:' .. p, off)
  end
end

-- trim applies retention to partition p: age, size and the grace period
-- of delete markers; at most 1000 records per call.
local function trim(s, p)
  local key = pkey(s, p)
  local budget = 1000
  if s.ret > 0 then
    local cutoff = NOWUS - s.ret * 1000
    while budget > 0 do
      local es = redis.call('XRANGE', key, '-', '+', 'COUNT', 100)
      local done = #es == 0
      for _, e in ipairs(es) do
        local f = fields(e[2])
        if tonumber(f.t) >= cutoff then done = true; break end
        drop_entry(s, p, offset_of(e[1]), f)
        budget = budget - 1
      end
      if done then break end
    end
  end
  if s.retb > 0 then
    while budget > 0 and (tonumber(redis.call('HGET', ckey(s), p .. ':bytes')) or 0) > s.retb do
      local es = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)
      if #es == 0 then break end
      drop_entry(s, p, offset_of(es[1][1]), fields(es[1][2]))
      budget = budget - 1
    end
  end
  if s.compact then
    local offs = redis.call('ZRANGEBYSCORE', s.D .. ':t:' .. p, '-inf', string.format('%d', NOWUS - s.dret * 1000), 'LIMIT', 0, budget)
    for _, o in ipairs(offs) do
      local es = redis.call('XRANGE', key, entry_id(tonumber(o)), entry_id(tonumber(o)))
      if #es > 0 then
        drop_entry(s, p, tonumber(o), fields(es[1][2]))
      else
        redis.call('ZREM', s.D .. ':t:' .. p, o)
      end
    end
  end
end

-- time_offset is the offset of the first record of p at or after t (µs).
local function time_offset(s, p, t)
  local lo, hi = first_offset(s, p), end_of(s, p)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local es = redis.call('XRANGE', pkey(s, p), entry_id(mid), '+', 'COUNT', 1)
    if #es == 0 then
      hi = mid
    else
      local f = fields(es[1][2])
      if tonumber(f.t) >= t then hi = mid else lo = offset_of(es[1][1]) + 1 end
    end
  end
  return lo
end

-- start_offset resolves a position in p: kind earliest, latest, offset or
-- time (off, t). It returns nil and 'beyond' for an offset past the end.
local function start_offset(s, p, kind, off, t)
  if kind == 'latest' then return end_of(s, p) end
  if kind == 'offset' then
    local e = end_of(s, p)
    if off > e then return nil, 'beyond' end
    return math.max(off, first_offset(s, p))
  end
  if kind == 'time' then return time_offset(s, p, t) end
  return first_offset(s, p)
end

-- collect reads up to max records and max_bytes (at least one) of p from
-- offset from; it returns them flat (offset, time, blob) and the offset
-- after the last.
local function collect(s, p, from, max, max_bytes, out)
  local es = redis.call('XRANGE', pkey(s, p), entry_id(from), '+', 'COUNT', max)
  local bytes, nxt, n = 0, from, 0
  for _, e in ipairs(es) do
    local f = fields(e[2])
    local size = tonumber(f.s)
    if bytes > 0 and bytes + size > max_bytes then break end
    bytes = bytes + size
    local off = offset_of(e[1])
    table.insert(out, p)
    table.insert(out, off)
    table.insert(out, f.t)
    table.insert(out, f.v)
    nxt = off + 1
    n = n + 1
  end
  return nxt, n
end

-- Consumer groups (see the engine's group.go for the protocol: two-phase
-- cooperative rebalancing, generations, fencing). Partitions are keyed by
-- their number as a string, so the JSON documents hold objects only.
local function pk(p) return string.format('%d', p) end
local function gkey(s, name) return s.D .. ':g:' .. name end

local function load_group(s, name)
  local j = redis.call('GET', gkey(s, name))
  if not j then return nil end
  local g = cjson.decode(j)
  for _, f in ipairs({'committed', 'members', 'owner', 'agen', 'move'}) do
    if type(g[f]) ~= 'table' then g[f] = {} end
  end
  for _, m in pairs(g.members) do
    if type(m.pos) ~= 'table' then m.pos = {} end
  end
  return g
end

local function save_group(s, name, g)
  redis.call('SET', gkey(s, name), cjson.encode(g))
end

local function rebalance(g, nparts)
  local names = {}
  for n in pairs(g.members) do table.insert(names, n) end
  for p = 0, nparts - 1 do
    local k = pk(p)
    g.move[k] = nil
    if g.owner[k] and not g.members[g.owner[k]] then g.owner[k] = nil end
  end
  if #names == 0 then return end
  local count = {}
  for p = 0, nparts - 1 do
    local o = g.owner[pk(p)]
    if o then count[o] = (count[o] or 0) + 1 end
  end
  table.sort(names, function(a, b)
    local ca, cb = count[a] or 0, count[b] or 0
    if ca ~= cb then return ca > cb end
    return a < b
  end)
  local quota = {}
  local base, extra = math.floor(nparts / #names), nparts % #names
  for i, n in ipairs(names) do
    quota[n] = base
    if i <= extra then quota[n] = base + 1 end
  end
  local kept, free = {}, {}
  for p = 0, nparts - 1 do
    local o = g.owner[pk(p)]
    if o and (kept[o] or 0) < quota[o] then
      kept[o] = (kept[o] or 0) + 1
    else
      table.insert(free, p)
    end
  end
  local changed = false
  local fi = 1
  for _, n in ipairs(names) do
    while (kept[n] or 0) < quota[n] and fi <= #free do
      local k = pk(free[fi])
      fi = fi + 1
      kept[n] = (kept[n] or 0) + 1
      if not g.owner[k] then
        g.owner[k] = n
        g.agen[k] = g.gen + 1
        changed = true
      elseif g.owner[k] ~= n then
        g.move[k] = n
      end
    end
  end
  if changed then g.gen = g.gen + 1 end
end

-- settle completes the moves away from member name, which learns of them.
local function settle(g, name, nparts)
  local changed = false
  for p = 0, nparts - 1 do
    local k = pk(p)
    if g.owner[k] == name and g.move[k] then
      g.owner[k] = g.move[k]
      g.move[k] = nil
      g.agen[k] = g.gen + 1
      changed = true
    end
  end
  if changed then g.gen = g.gen + 1 end
  local m = g.members[name]
  if m then
    for k in pairs(m.pos) do
      if g.owner[k] ~= name then m.pos[k] = nil end
    end
  end
end

-- expire_members removes members whose session ended; it reports whether
-- any was.
local function expire_members(g, nparts)
  local gone = false
  for n, m in pairs(g.members) do
    if m.seen + m.session <= NOW then
      g.members[n] = nil
      gone = true
    end
  end
  if gone then rebalance(g, nparts) end
  return gone
end

local function owned(g, name, nparts)
  local out = {}
  for p = 0, nparts - 1 do
    if g.owner[pk(p)] == name then table.insert(out, p) end
  end
  return out
end

-- position is where member m reads p next: where its last poll of p
-- ended, else the group's committed offset, else the oldest record.
local function position(s, g, m, p)
  local k = pk(p)
  local first = first_offset(s, p)
  local off = m.pos[k]
  if off == nil then off = g.committed[k] end
  if off == nil then off = first end
  return math.max(off, first)
end

-- assignment returns {generation, n, then partition and offset each} of
-- member name, and its partitions and offsets as tables.
local function assignment(s, g, name)
  local m = g.members[name]
  local parts = owned(g, name, s.parts)
  local out = {g.gen, #parts}
  local offs = {}
  for i, p in ipairs(parts) do
    offs[i] = position(s, g, m, p)
    table.insert(out, p)
    table.insert(out, offs[i])
  end
  return out, parts, offs
end

-- lock_member loads group and member, renews the member's session and
-- settles its moves; it returns the group or an error code.
local function lock_member(s, group, name)
  local g = load_group(s, group)
  if not g then return nil, 'fenced' end
  expire_members(g, s.parts)
  local m = g.members[name]
  if not m then
    save_group(s, group, g)
    return nil, 'fenced'
  end
  m.seen = NOW
  settle(g, name, s.parts)
  return g
end
