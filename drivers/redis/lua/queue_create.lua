-- queue_create: ARGV P, name, vt, ret, delay, wait, max, mr, dlq, fifo, cbd.
-- Returns {code, QF fields...}: code 'created', 'exists' (equal
-- attributes), 'conflict' (other attributes) or a dead-letter error code.
local name = ARGV[2]
local a = {ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]}
local old = redis.call('HMGET', qkey(name), 'vt', 'ret', 'delay', 'wait', 'max', 'mr', 'dlq', 'fifo', 'cbd', 'owner')
if old[1] then
  if old[10] ~= '' then return {'owned'} end
  for i = 1, 9 do
    if (old[i] or '') ~= a[i] then
      local out = queue_fields(name)
      table.insert(out, 1, 'conflict')
      return out
    end
  end
  local out = queue_fields(name)
  table.insert(out, 1, 'exists')
  return out
end
local bad = check_dlq(name, a[7], a[8] == '1')
if bad then return {bad} end
create_queue(name, a, '')
local out = queue_fields(name)
table.insert(out, 1, 'created')
return out
