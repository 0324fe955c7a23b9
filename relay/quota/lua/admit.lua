-- Admission: check and apply, atomically, everything that can refuse a request before it
-- reaches an upstream: token status/expiry/balance, user status, per-token RPM/RPD/TPM,
-- the per-user model request limits, and the hold (pre-consumption) on token and user.
-- KEYS: 1 user hash, 2 token hash, 3 holds zset, 4 token limits hash,
--       5 model-success zset, 6 model-total bucket hash
-- ARGV: 1 hold member, 2 amount, 3 lease ms, 4 rpm, 5 rpd, 6 tpm,
--       7 model-limit window s, 8 model total limit, 9 model success limit, 10 request id,
--       11 free model 1/0 (new-api skips the wallet checks for free models)
-- Returns {code, value}; see relay/quota/service.py for the codes.
local t = redis.call('TIME')
local now = tonumber(t[1])
local now_ms = now * 1000 + math.floor(tonumber(t[2]) / 1000)

local u = redis.call('HMGET', KEYS[1], 'st', 'q', 'h')
local k = redis.call('HMGET', KEYS[2], 'st', 'q', 'h', 'ul', 'ex')
if not u[1] or not k[1] then
  local missing = 0
  if not u[1] then missing = missing + 1 end
  if not k[1] then missing = missing + 2 end
  return {1, missing}
end

local unlimited = k[4] == '1'
local token_avail = tonumber(k[2]) - tonumber(k[3])
local expires = tonumber(k[5])
if k[1] ~= '1' or (expires ~= -1 and expires < now) or (not unlimited and token_avail <= 0) then
  return {2, 0}
end
if u[1] ~= '1' then return {3, 0} end

local rpm, rpd, tpm = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local limited = rpm > 0 or rpd > 0 or tpm > 0
local minute, day = math.floor(now / 60), math.floor(now / 86400)
local mc, mt, dc = 0, 0, 0
if limited then
  local rl = redis.call('HMGET', KEYS[4], 'm', 'mc', 'mt', 'd', 'dc')
  if tonumber(rl[1]) == minute then
    mc = tonumber(rl[2]) or 0
    mt = tonumber(rl[3]) or 0
  end
  if tonumber(rl[4]) == day then dc = tonumber(rl[5]) or 0 end
  if rpm > 0 and mc >= rpm then return {4, 60 - now % 60} end
  if rpd > 0 and dc >= rpd then return {5, 86400 - now % 86400} end
  if tpm > 0 and mt >= tpm then return {6, 60 - now % 60} end
end

local window = tonumber(ARGV[7])
local total_limit, success_limit = tonumber(ARGV[8]), tonumber(ARGV[9])
local bucket
if window > 0 then
  if success_limit > 0 then
    -- Successes and in-flight reservations inside the window; a failed request removes its
    -- reservation at settlement, so exactly success_limit requests can succeed per window.
    redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now_ms - window * 1000)
    if redis.call('ZCARD', KEYS[5]) >= success_limit then
      local oldest = redis.call('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
      local wait = math.ceil((tonumber(oldest[2]) + window * 1000 - now_ms) / 1000)
      return {7, math.max(wait, 1)}
    end
  end
  if total_limit > 0 then
    -- Token bucket: capacity total_limit, refilled at total_limit per window.
    local b = redis.call('HMGET', KEYS[6], 'tokens', 'ms')
    local tokens = tonumber(b[1]) or total_limit
    local last = tonumber(b[2]) or now_ms
    tokens = math.min(total_limit, tokens + (now_ms - last) * total_limit / (window * 1000))
    if tokens < 1 then
      return {8, math.max(math.ceil((1 - tokens) * window / total_limit), 1)}
    end
    bucket = tokens - 1
  end
end

local amount = tonumber(ARGV[2])
if ARGV[11] ~= '1' then
  local user_avail = tonumber(u[2]) - tonumber(u[3])
  if user_avail <= 0 or user_avail < amount then return {9, user_avail} end
  if not unlimited and token_avail < amount then return {10, token_avail} end
end

redis.call('HINCRBY', KEYS[1], 'h', amount)
redis.call('HINCRBY', KEYS[2], 'h', amount)
redis.call('ZADD', KEYS[3], now_ms + tonumber(ARGV[3]), ARGV[1])
if limited then
  redis.call('HSET', KEYS[4], 'm', minute, 'mc', mc + 1, 'mt', mt, 'd', day, 'dc', dc + 1)
  redis.call('EXPIRE', KEYS[4], 172800)
end
if window > 0 then
  if success_limit > 0 then
    redis.call('ZADD', KEYS[5], now_ms, ARGV[10])
    redis.call('PEXPIRE', KEYS[5], window * 1000 + 60000)
  end
  if bucket then
    redis.call('HSET', KEYS[6], 'tokens', tostring(bucket), 'ms', now_ms)
    redis.call('PEXPIRE', KEYS[6], window * 1000 + 60000)
  end
end
return {0, 0}
