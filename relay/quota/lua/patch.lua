-- Update fields of a live balance hash (status, unlimited, expiry) only if it is loaded;
-- an unloaded one will be read from SQL, which the caller has already updated.
-- KEYS: 1 user or token hash   ARGV: field/value pairs
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], unpack(ARGV))
  return 1
end
return 0
