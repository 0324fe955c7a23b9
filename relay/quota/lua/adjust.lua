-- An admin's balance change (add, subtract or override) on a user or on a token, applied to
-- the live Redis balance and appended to the ledger so SQL follows. A balance not yet in
-- Redis is first loaded from the SQL values given (as load.lua would).
-- KEYS: 1 balance hash (user or token), 2 ledger stream
-- ARGV: 1 'u' or 't', 2 user id, 3 token id (0 for a user), 4 mode 'add' | 'set',
--       5 amount, 6.. field/value pairs to load when the hash is missing
if redis.call('EXISTS', KEYS[1]) == 0 then
  local fields = {}
  for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
  redis.call('HSET', KEYS[1], 'h', 0, unpack(fields))
end
local current = tonumber(redis.call('HGET', KEYS[1], 'q'))
local delta = tonumber(ARGV[5])
if ARGV[4] == 'set' then delta = delta - current end
if delta ~= 0 then
  redis.call('HINCRBY', KEYS[1], 'q', delta)
  if ARGV[1] == 'u' then
    redis.call('XADD', KEYS[2], '*', 'u', ARGV[2], 'du', delta)
  else
    redis.call('XADD', KEYS[2], '*', 'u', ARGV[2], 't', ARGV[3], 'dt', delta)
  end
end
return {current, current + delta}
