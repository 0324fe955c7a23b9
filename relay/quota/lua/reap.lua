-- Reaper: refund holds whose lease expired (their worker died or lost Redis mid-request).
-- Hold members are "request id|user id|token id|amount"; all keys share the shard's hash tag.
-- KEYS: 1 holds zset   ARGV: 1 shard tag such as {r3}, 2 max holds to reap
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0, tonumber(ARGV[2]))
local tag = ARGV[1]
for _, member in ipairs(expired) do
  local rid, uid, tid, amount = string.match(member, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  redis.call('ZREM', KEYS[1], member)
  if amount and tonumber(amount) ~= 0 then
    redis.call('HINCRBY', tag .. ':u:' .. uid, 'h', -tonumber(amount))
    redis.call('HINCRBY', tag .. ':t:' .. tid, 'h', -tonumber(amount))
  end
  if rid then redis.call('ZREM', tag .. ':mrs:' .. uid, rid) end
end
return #expired
