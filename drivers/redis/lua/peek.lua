-- peek: ARGV P, name, max. Returns {'missing'} or {'ok', now ms, n, then
-- per message, oldest first: id, receive state ('' before the first
-- receive), stored value, visible-at ms, '1' when delayed}. Changes
-- nothing.
local q = load_queue(ARGV[2])
if not q then return {'missing'} end
local h, v, d = q.D .. ':h', q.D .. ':v', q.D .. ':d'
local cutoff = NOW - q.ret
local ids = redis.call('ZRANGEBYSCORE', q.D .. ':e', '(' .. int(cutoff), '+inf', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {'ok', NOW, 0}
local n = 0
for _, id in ipairs(ids) do
  local val = redis.call('HMGET', h, id, id .. ':r')
  if val[1] then
    local at = tonumber(redis.call('ZSCORE', v, id)) or NOW
    local ds = tonumber(redis.call('ZSCORE', d, id))
    local delayed = '0'
    if at > NOW and (ds and ds > NOW or not val[2]) then delayed = '1' end
    table.insert(out, id)
    push2(out, val[2] or '', val[1])
    push2(out, at, delayed)
    n = n + 1
  end
end
out[3] = n
return out
