"""new-api's fixed-window request limits for the admin API, one Redis Lua call each."""

from __future__ import annotations

from typing import Any

# INCR the window's counter, start the window on the first hit (or if the TTL went missing),
# and report the seconds left when the count is over the limit (-1 = allowed).
_FIXED_WINDOW = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then return math.max(redis.call('TTL', KEYS[1]), 1) end
return -1
"""


class RateLimiter:
    def __init__(self, redis: Any) -> None:
        self._script = redis.register_script(_FIXED_WINDOW)

    async def hit(self, key: str, limit: int, seconds: int) -> int:
        """Count one request; returns 0 if allowed, else the seconds until the window ends."""
        wait = int(await self._script(keys=[key], args=[limit, seconds]))
        return max(wait, 0)


def ip_key(mark: str, ip: str) -> str:
    return f"rateLimit:v2:ip:{mark}:{ip}"


def user_key(mark: str, user_id: int) -> str:
    return f"rateLimit:v2:user:{mark}:{user_id}"
