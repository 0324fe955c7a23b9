-- Load balances read from SQL into Redis, only where Redis has none yet (a concurrent load
-- or a live balance always wins over the SQL copy).
-- KEYS: 1 user hash, 2 token hash
-- ARGV: 1 user status, 2 user quota, 3 user used, 4 user request count,
--       5 token status, 6 token remain, 7 token used, 8 unlimited 1/0, 9 expired_time
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'st', ARGV[1], 'q', ARGV[2], 'h', 0, 'uq', ARGV[3], 'rc', ARGV[4])
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[2], 'st', ARGV[5], 'q', ARGV[6], 'h', 0, 'uq', ARGV[7],
    'ul', ARGV[8], 'ex', ARGV[9])
end
return 1
