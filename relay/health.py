"""Channel health counters: every upstream attempt's outcome, per channel and key, in Redis.

Beyond new-api (which disables a channel on its first qualifying error), relay disables a
channel only when the *rate* of qualifying errors over a window is too high. Workers count each
attempt with one fire-and-forget HINCRBY into a 10-second bucket hash (it leaves with the other
commands of the same event-loop turn, so the client never waits for it); the admin's health job
sums the buckets of the window.

Bucket hash `relay:chh:<n>` (n = unix time // 10), fields `<channel>:<key id>:n` (attempts that
did not qualify, successes included) and `<channel>:<key id>:e` (qualifying errors). The key id
is a CRC32 of the key, so a multi-key channel's failing key can be told apart without storing
the key. `relay:chh:since` maps a channel id to the time its counts start to matter again (set
whenever the channel is disabled or re-enabled).
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Mapping
from typing import Any

from relay.errors import RelayError

log = logging.getLogger("relay.health")

BUCKET_SECONDS = 10
MAX_WINDOW_MINUTES = 60
BUCKET_TTL_SECONDS = MAX_WINDOW_MINUTES * 60 + 120
PREFIX = "relay:chh:"
SINCE_KEY = "relay:chh:since"

_expired_bucket = -1  # the last bucket this process set a TTL on


def bucket_of(ts: float) -> int:
    return int(ts) // BUCKET_SECONDS


def bucket_key(bucket: int) -> str:
    return f"{PREFIX}{bucket}"


def key_id(key: str) -> str:
    """A short, non-reversible id of one channel key (CRC32, hex)."""
    return format(zlib.crc32(key.encode()), "08x")


def counter_field(channel_id: int, key: str, qualifying: bool) -> str:
    return f"{channel_id}:{key_id(key)}:{'e' if qualifying else 'n'}"


def qualifies(err: RelayError, options: Mapping[str, Any]) -> bool:
    """new-api's ShouldDisableChannel test of one error (the option switch is checked apart)."""
    if err.channel_error or err.code.startswith("channel:"):
        return True
    if err.skip_retry:
        return False
    if err.status in options["AutomaticDisableStatusCodes"]:
        return True
    text = err.text.lower()
    return any(word in text for word in options["AutomaticDisableKeywords"])


def _consume(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.debug("health counter update failed: %s", fut.exception())


def _send(ctx: Any, *command: Any) -> None:
    """Queue one Redis command without waiting for its answer."""
    pipelined = ctx.pipelined
    fut: asyncio.Future[Any] | None = None
    if pipelined is not None:
        fut = pipelined.send_nowait(*command)
        if fut is None:  # not connected yet: connecting needs a task
            fut = asyncio.ensure_future(pipelined.execute(*command))
    else:
        fut = asyncio.ensure_future(ctx.redis.execute_command(*command))
    fut.add_done_callback(_consume)


def report(ctx: Any, channel_id: int, key: str, qualifying: bool) -> None:
    """Count one upstream attempt of a channel (fire-and-forget)."""
    global _expired_bucket
    bucket = bucket_of(time.time())
    name = bucket_key(bucket)
    _send(ctx, "HINCRBY", name, counter_field(channel_id, key, qualifying), 1)
    if bucket != _expired_bucket:
        _expired_bucket = bucket
        _send(ctx, "EXPIRE", name, BUCKET_TTL_SECONDS)


def parse_field(field: str) -> tuple[int, str, bool] | None:
    """(channel id, key id, qualifying) of a counter field; None if malformed."""
    parts = field.split(":")
    if len(parts) != 3 or parts[2] not in ("e", "n"):
        return None
    try:
        return int(parts[0]), parts[1], parts[2] == "e"
    except ValueError:
        return None
