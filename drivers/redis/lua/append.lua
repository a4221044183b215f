-- append: ARGV P, name, partition count the client assumed (for keys), n,
-- then per record: partition (-1: round robin), size, blob, key ('' for
-- none), '1' when the value is empty (on a compacted stream, a delete
-- marker). Returns {'missing'}, {'stale', partitions} (assume that many and
-- append again) or {'ok', then per record: code (0 stored, 2 too large,
-- 3 needs a key, 4 no such partition), partition, offset}.
local s = load_stream(ARGV[2])
if not s then return {'missing'} end
if tonumber(ARGV[3]) ~= s.parts then return {'stale', s.parts} end
local n = tonumber(ARGV[4])
local out = {'ok'}
local touched = {}
local c = ckey(s)
for i = 0, n - 1 do
  local b = 5 + i * 5
  local part, size, blob, key, tomb = tonumber(ARGV[b]), tonumber(ARGV[b + 1]), ARGV[b + 2], ARGV[b + 3], ARGV[b + 4] == '1'
  if size > s.max then
    push2(out, 2, part); table.insert(out, 0)
  elseif s.compact and key == '' then
    push2(out, 3, part); table.insert(out, 0)
  else
    if part < 0 then part = (redis.call('HINCRBY', skey(s.name), 'rr', 1) - 1) % s.parts end
    if part >= s.parts then
      push2(out, 4, part); table.insert(out, 0)
    else
      local off = redis.call('HINCRBY', c, part .. ':end', 1) - 1
      local ts = math.max(NOWUS, tonumber(redis.call('HGET', c, part .. ':ts')) or 0)
      local tss = string.format('%d', ts)
      redis.call('HSET', c, part .. ':ts', tss)
      if s.compact then
        redis.call('XADD', pkey(s, part), entry_id(off), 't', tss, 's', size, 'v', blob, 'k', key)
        local kk = s.D .. ':k:' .. part
        local prev = tonumber(redis.call('HGET', kk, key))
        if prev then
          local es = redis.call('XRANGE', pkey(s, part), entry_id(prev), entry_id(prev))
          if #es > 0 then drop_entry(s, part, prev, fields(es[1][2])) end
        end
        redis.call('HSET', kk, key, off)
        if tomb then
          redis.call('ZADD', s.D .. ':t:' .. part, tss, off)
        end
      else
        redis.call('XADD', pkey(s, part), entry_id(off), 't', tss, 's', size, 'v', blob)
      end
      redis.call('HINCRBY', c, part .. ':bytes', size)
      touched[part] = true
      push2(out, 0, part); table.insert(out, off)
    end
  end
end
for p in pairs(touched) do trim(s, p) end
redis.call('PUBLISH', P .. ':sw:' .. s.name, '1')
return out
