-- stream_delete: ARGV P, name. Deletes the stream, its records and groups.
-- Returns 1, or 0 when missing.
local s = load_stream(ARGV[2])
if not s then return 0 end
for p = 0, s.parts - 1 do
  redis.call('UNLINK', pkey(s, p), s.D .. ':k:' .. p, s.D .. ':t:' .. p)
end
for _, g in ipairs(redis.call('SMEMBERS', s.D .. ':gs')) do redis.call('DEL', gkey(s, g)) end
redis.call('DEL', s.D .. ':gs', ckey(s), skey(s.name))
redis.call('SREM', P .. ':streams', s.name)
return 1
