"""Log retention (LOG_RETENTION_DAYS): delete `logs` rows older than that, a little at a time.

Each pass deletes in batches of BATCH rows (one short transaction each, rows found through the
created_at index) with a pause between batches, so the drain's inserts and the console's reads
never wait long behind it. One Redis lock per cluster: with several admin processes (nodes)
running, one of them does the pass; the others skip it. quota_data (the dashboard's hourly
totals) is kept, as in new-api.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from relay.store.logs import delete_logs_before

log = logging.getLogger("relay.admin.retention")

INTERVAL_SECONDS = 60.0  # how often a pass looks for expired rows (cheap when there are none)
BATCH = 5000
PAUSE_SECONDS = 0.2
LOCK_KEY = "relay:lock:log-retention"
LOCK_MS = 60_000
DAY = 86_400

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LogRetention:
    """Deletes logs older than `days` days; `run_once` is the background job's body."""

    def __init__(
        self,
        redis: Any,
        engine: AsyncEngine,
        days: int,
        *,
        batch: int = BATCH,
        pause: float = PAUSE_SECONDS,
    ) -> None:
        self._redis = redis
        self._engine = engine
        self.days = days
        self.batch = batch
        self.pause = pause
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def run_once(self, now: float | None = None) -> int:
        """One pass: delete every row created before now - days; returns how many went."""
        if self.days <= 0:
            return 0
        if not await self._redis.set(LOCK_KEY, self._owner, nx=True, px=LOCK_MS):
            return 0  # another admin process is on it
        cutoff = int(now if now is not None else time.time()) - self.days * DAY
        deleted = 0
        try:
            while True:
                async with self._engine.begin() as conn:
                    count = await delete_logs_before(conn, cutoff, self.batch)
                deleted += count
                if count < self.batch:
                    break
                if not await self._renew(keys=[LOCK_KEY], args=[self._owner, LOCK_MS]):
                    break  # the lock expired and someone else may have taken over
                await asyncio.sleep(self.pause)
        finally:
            await self._release(keys=[LOCK_KEY], args=[self._owner])
        if deleted:
            log.info("log retention: deleted %d rows created before %d", deleted, cutoff)
        return deleted
