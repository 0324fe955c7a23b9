-- Settlement: release the hold, charge the real cost to token and user, append the change to
-- the quota ledger and the usage record to the log stream -- all in one atomic step.
-- If the hold already expired (and was refunded by the reaper) the full cost is still charged.
-- KEYS: 1 user hash, 2 token hash, 3 holds zset, 4 token limits hash, 5 model-success zset,
--       6 ledger stream, 7 usage-log stream
-- ARGV: 1 hold member, 2 held amount, 3 quota charged, 4 user id, 5 token id, 6 channel id,
--       7 tokens used (for TPM; 0 = no TPM limit), 8 success 1/0, 9 request id,
--       10 usage-log record ('' = none)
local removed = redis.call('ZREM', KEYS[3], ARGV[1])
local held = tonumber(ARGV[2])
if removed == 1 and held ~= 0 then
  redis.call('HINCRBY', KEYS[1], 'h', -held)
  redis.call('HINCRBY', KEYS[2], 'h', -held)
end
local quota = tonumber(ARGV[3])
if quota ~= 0 then
  redis.call('HINCRBY', KEYS[1], 'q', -quota)
  redis.call('HINCRBY', KEYS[1], 'uq', quota)
  redis.call('HINCRBY', KEYS[2], 'q', -quota)
  redis.call('HINCRBY', KEYS[2], 'uq', quota)
end
redis.call('HINCRBY', KEYS[1], 'rc', 1)
redis.call('XADD', KEYS[6], '*', 'u', ARGV[4], 't', ARGV[5], 'c', ARGV[6], 'q', quota, 'rc', 1)

local used = tonumber(ARGV[7])
if used > 0 then
  local minute = math.floor(tonumber(redis.call('TIME')[1]) / 60)
  if tonumber(redis.call('HGET', KEYS[4], 'm')) == minute then
    redis.call('HINCRBY', KEYS[4], 'mt', used)
  else
    redis.call('HSET', KEYS[4], 'm', minute, 'mc', 0, 'mt', used)
    redis.call('EXPIRE', KEYS[4], 172800)
  end
end
if ARGV[8] ~= '1' then redis.call('ZREM', KEYS[5], ARGV[9]) end
if ARGV[10] ~= '' then redis.call('XADD', KEYS[7], '*', 'r', ARGV[10]) end
return removed
