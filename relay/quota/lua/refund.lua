-- Refund: a request that failed before any upstream answered gives its hold back and its
-- model-success reservation. Returns 1 if the hold was still there.
-- KEYS: 1 user hash, 2 token hash, 3 holds zset, 4 model-success zset
-- ARGV: 1 hold member, 2 held amount, 3 request id
local removed = redis.call('ZREM', KEYS[3], ARGV[1])
local held = tonumber(ARGV[2])
if removed == 1 and held ~= 0 then
  redis.call('HINCRBY', KEYS[1], 'h', -held)
  redis.call('HINCRBY', KEYS[2], 'h', -held)
end
redis.call('ZREM', KEYS[4], ARGV[3])
return removed
