-- topic_common.lua: helpers of the topic scripts (after common.lua).
local function tkey(name) return P .. ':t:' .. name end

local TF = {'gen', 'fifo', 'cbd', 'max', 'created', 'pub', 'ver'}

local function load_topic(name)
  local v = redis.call('HMGET', tkey(name), unpack(TF))
  if not v[1] then return nil end
  return {name = name, gen = v[1], fifo = v[2] == '1', cbd = v[3] == '1', max = tonumber(v[4]), created = v[5],
    pub = tonumber(v[6]), ver = v[7], D = P .. ':T:' .. v[1]}
end

-- owned_name is the name of the queue a durable subscription owns; a '/'
-- never occurs in the names users choose.
local function owned_name(topic, sub) return topic .. '/' .. sub end

-- target_queue returns the name of the queue subscription spec delivers into.
local function target_queue(topic, sub, spec)
  if spec.kind == 'queue' then return spec.queue end
  return owned_name(topic, sub)
end

-- drop_subscription deletes subscription sub of topic t (spec decoded).
local function drop_subscription(t, sub, spec)
  if spec.kind == 'queue' then
    redis.call('SREM', qkey(spec.queue) .. ':refs', 'sub:' .. owned_name(t.name, sub))
  else
    local q = load_queue(owned_name(t.name, sub))
    if q then drop_queue(q) end
  end
  redis.call('HDEL', tkey(t.name) .. ':s', sub)
  redis.call('HDEL', tkey(t.name) .. ':c', sub .. ':d', sub .. ':b', sub .. ':ct', sub .. ':ut')
end
