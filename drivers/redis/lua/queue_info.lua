-- queue_info: ARGV P, name. Returns {QF fields..., visible, in flight,
-- delayed, oldest age ms}, or {} when the queue does not exist. Messages
-- past their retention period are deleted first.
local q = load_queue(ARGV[2])
if not q then return {} end
expire(q)
local out = queue_fields(q.name)
local v, f, d, o = stats(q)
local age = 0
if o > 0 and NOW > o then age = NOW - o end
table.insert(out, v)
table.insert(out, f)
table.insert(out, d)
table.insert(out, age)
return out
