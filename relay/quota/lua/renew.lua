-- Extend the lease of holds that are still in flight (long streams). Only existing holds are
-- touched: one the reaper already refunded stays refunded.
-- KEYS: 1 holds zset   ARGV: 1 lease ms, 2.. hold members
local t = redis.call('TIME')
local until_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local renewed = 0
for i = 2, #ARGV do
  renewed = renewed + redis.call('ZADD', KEYS[1], 'XX', 'CH', until_ms, ARGV[i])
end
return renewed
