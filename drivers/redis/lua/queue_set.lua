-- queue_set: ARGV P, name, vt, ret, delay, wait, max, mr, dlq, fifo, cbd.
-- Returns {code, QF fields...}: 'ok', 'missing', 'fifo' (FIFO cannot
-- change) or a dead-letter error code.
local name = ARGV[2]
local a = {ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]}
local q = load_queue(name)
if not q or q.owner ~= '' then return {'missing'} end
if q.fifo ~= (a[8] == '1') then return {'fifo'} end
local bad = check_dlq(name, a[7], q.fifo)
if bad then return {bad} end
write_queue(name, a, q.dlq)
local out = queue_fields(name)
table.insert(out, 1, 'ok')
return out
