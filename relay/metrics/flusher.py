"""Ships a process's metric deltas to Redis once a second, in one atomic script call.

Counters are summed node-wide with HINCRBY / HINCRBYFLOAT, so totals outlive any worker: a
restarted worker adds to the same sums, and only a crash loses its last unflushed second.
Gauges are per process (field role:pid with a timestamp), so a dead worker's in-flight
streams stop counting once its entry is older than LIVE_SECONDS.

Histograms are stored sparse: a `<name>_hits{...,le="x"}` field per bucket ever hit (not
cumulative) and `<name>_sum`; the renderer makes the cumulative `_bucket`s and `_count`.
One script call with every increment as arguments costs a fraction of a millisecond a
second, where a redis-py pipeline of one command per field cost ~9 ms.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from redis.exceptions import RedisError

from relay.metrics import families as f
from relay.metrics.registry import NO_CHANNEL, Deltas, Histogram, Metrics
from relay.redis_pipe import RedisReplyError

log = logging.getLogger("relay.metrics")

# Label sets one process keeps names for; past this, new models share model="_other" (a
# pinned-channel admin call may name any model, and label cardinality must stay bounded).
MAX_SERIES = 5000
OTHER = "_other"
LE = [repr(b) for b in f.LATENCY_BUCKETS] + ["+Inf"]

# KEYS: counters hash, live hash. ARGV: live field, live value, number of integer pairs,
# then (field, integer) pairs, then (field, float) pairs.
_FLUSH_LUA = """
local ints = tonumber(ARGV[3])
local i = 4
for _ = 1, ints do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i < #ARGV do
  redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return ints
"""


def escape(value: str) -> str:
    """A label value in the exposition format's escaping."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def labels(**values: str) -> str:
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in values.items()) + "}"


def _channel(channel_id: int) -> str:
    return "" if channel_id == NO_CHANNEL else str(channel_id)


class Fields:
    """Turns label tuples into Redis field names (sample name + labels), remembering them."""

    def __init__(self, limit: int = MAX_SERIES) -> None:
        self._names: dict[tuple[str, tuple[Any, ...]], str] = {}
        self._limit = limit

    def name(self, family: str, key: tuple[Any, ...], **label_values: str) -> str:
        cached = self._names.get((family, key))
        if cached is not None:
            return cached
        if len(self._names) >= self._limit:
            label_values["model"] = OTHER
            return family + labels(**label_values)
        text = family + labels(**label_values)
        self._names[(family, key)] = text
        return text


def _histogram(
    out_int: dict[str, int],
    out_float: dict[str, float],
    family: str,
    labels_text: str,
    h: Histogram,
) -> None:
    """A histogram's deltas: `_hits` of each bucket hit (not cumulative), and `_sum`."""
    inner = labels_text[1:-1]
    for le, count in zip(LE, h[:-1], strict=True):
        if count:
            field = f'{family}_hits{{{inner},le="{le}"}}'
            out_int[field] = out_int.get(field, 0) + int(count)
    sum_field = f"{family}_sum{labels_text}"
    out_float[sum_field] = out_float.get(sum_field, 0.0) + h[-1]


def _add(out: dict[str, int], field: str, n: int) -> None:
    out[field] = out.get(field, 0) + n


def encode(deltas: Deltas, fields: Fields, role: str) -> tuple[dict[str, int], dict[str, float]]:
    """The HINCRBY and HINCRBYFLOAT increments of one flush."""
    ints: dict[str, int] = {}
    floats: dict[str, float] = {}
    for (model, channel, status), n in deltas.requests.items():
        name = fields.name(
            f.REQUESTS.name, (model, channel, status),
            model=model, channel=_channel(channel), status=str(status),
        )  # fmt: skip
        _add(ints, name, n)
    for (model, channel, status), n in deltas.upstream_responses.items():
        name = fields.name(
            f.UPSTREAM_RESPONSES.name, (model, channel, status),
            model=model, channel=_channel(channel), status=str(status),
        )  # fmt: skip
        _add(ints, name, n)
    for family, series in (
        (f.UPSTREAM_LATENCY.name, deltas.upstream_latency),
        (f.FIRST_TOKEN.name, deltas.first_token),
    ):
        for (model, channel), h in series.items():
            text = fields.name(family, (model, channel), model=model, channel=_channel(channel))
            _histogram(ints, floats, family, text.removeprefix(family), h)
    for (model, channel), (prompt, completion, quota) in deltas.usage.items():
        text = fields.name("", (model, channel), model=model, channel=_channel(channel))
        _add(ints, f.PROMPT_TOKENS.name + text, prompt)
        _add(ints, f.COMPLETION_TOKENS.name + text, completion)
        _add(ints, f.QUOTA.name + text, quota)
    for (model, limit), n in deltas.rate_limited.items():
        name = fields.name(f.RATE_LIMITED.name, (model, limit), model=model, limit=limit)
        _add(ints, name, n)
    for kind, n in deltas.errors.items():
        family = f.REDIS_ERRORS.name if kind == "redis" else f.SQL_ERRORS.name
        _add(ints, family + labels(role=role), n)
    return ints, floats


class MetricsFlusher:
    """The background task of one process: every FLUSH_SECONDS, deltas go to the node's hash."""

    def __init__(self, metrics: Metrics, redis: Any, node: str) -> None:
        self._metrics = metrics
        self._redis = redis
        self._counters = f.counters_key(node)
        self._live = f.live_key(node)
        self._fields = Fields()
        self._me = f"{metrics.role}:{os.getpid()}"
        self._script = redis.register_script(_FLUSH_LUA)

    async def flush(self) -> bool:
        """Send what was recorded; on failure keep it for the next flush. True if sent."""
        deltas = self._metrics.take()
        ints, floats = encode(deltas, self._fields, self._metrics.role)
        live = f"{time.time():.3f} {self._metrics.inflight_streams}"
        args: list[str | int] = [self._me, live, len(ints)]
        for name, n in ints.items():
            args += (name, n)
        for name, x in floats.items():
            args += (name, repr(x))
        try:
            # both keys share the node's hash tag: one slot on a Redis Cluster too
            await self._script(keys=[self._counters, self._live], args=args)
        except (RedisError, RedisReplyError, OSError) as exc:
            self._metrics.deltas.merge(deltas)
            self._metrics.error("redis")
            log.warning("sending metrics to Redis failed (%s); will retry", type(exc).__name__)
            return False
        return True

    async def forget(self) -> None:
        """Drop this process's gauge entry (a clean stop), so its streams stop counting now."""
        try:
            await self._redis.hdel(self._live, self._me)
        except (RedisError, OSError):
            log.debug("removing the metrics gauge entry failed", exc_info=True)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(f.FLUSH_SECONDS)
            await self.flush()

    async def close(self) -> None:
        """The last flush of a stopping process."""
        await self.flush()
        await self.forget()
