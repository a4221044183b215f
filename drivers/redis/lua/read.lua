-- read: ARGV P, name, partition, position kind, offset, time µs, max,
-- max bytes. Returns {'missing'}, {'badpart', partitions}, {'beyond',
-- end} or {'ok', next, end, n, then per record: partition, offset, time,
-- blob}.
local s = load_stream(ARGV[2])
if not s then return {'missing'} end
local p = tonumber(ARGV[3])
if p >= s.parts then return {'badpart', s.parts} end
trim(s, p)
local from, err = start_offset(s, p, ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]))
if not from then return {err, end_of(s, p)} end
local recs = {}
local nxt, n = collect(s, p, from, tonumber(ARGV[7]), tonumber(ARGV[8]), recs)
local out = {'ok', nxt, end_of(s, p), n}
for _, x in ipairs(recs) do table.insert(out, x) end
return out
