"""Micro-benchmarks of the metrics hooks one relayed request runs, and of a worker's flush.

Run: python -m pytest bench/micro/test_metrics_bench.py -p no:cacheprovider --benchmark-enable -q

A relay worker does ~3,000 req/s on one core here (~330 µs per request); the hooks' mean
over that is the per-request overhead of metrics. The flush runs once a second, so its cost
divides by the requests of that second (its benchmark includes recording 64 requests).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import redis.asyncio as aioredis

from relay.embedded_redis import EmbeddedRedis
from relay.http.server import Reply
from relay.logfmt import REQUEST_ID
from relay.metrics.flusher import Fields, MetricsFlusher, encode
from relay.metrics.registry import Metrics
from relay.providers.base import Usage
from relay.quota.service import Refusal

USAGE = Usage(prompt_tokens=57, completion_tokens=34)
REPLY = Reply(200, b"{}", [])
CHANNELS = (3, 4, 5, 6)
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "deepseek-chat")


def _call(i: int, stream: bool) -> Any:
    now = time.time()
    return SimpleNamespace(
        request_id=f"req-{i}",
        model=MODELS[(i // len(CHANNELS)) % len(MODELS)],
        tried_channels=[CHANNELS[i % len(CHANNELS)]],
        stream=stream,
        first_token_at=now,
        started=now - 0.2,
    )


CALLS = [_call(i, False) for i in range(64)]
STREAM_CALLS = [_call(i, True) for i in range(64)]


def _in_fresh_context(run: Any) -> Any:
    """Each request has a task (so a context) of its own; benchmark it the same way."""
    return lambda: contextvars.Context().run(run)


def test_hooks_of_a_whole_response(benchmark: Any) -> None:
    """dispatcher request id + track + upstream + settled + answered: one non-stream call."""
    metrics = Metrics("worker")
    index = [0]

    def one() -> None:
        call = CALLS[index[0] & 63]
        index[0] += 1
        REQUEST_ID.set(call.request_id)
        metrics.track(call)
        metrics.upstream(call, call.tried_channels[0], 200, time.perf_counter())
        metrics.settled(call, call.tried_channels[0], USAGE, 249)
        metrics.answered(call.request_id, REPLY, 0)

    benchmark(_in_fresh_context(one))
    assert sum(metrics.deltas.requests.values()) > 0


def test_hooks_of_a_stream(benchmark: Any) -> None:
    """The stream's hooks: as above plus opened/closed and the first-token histogram."""
    metrics = Metrics("worker")
    index = [0]

    def one() -> None:
        call = STREAM_CALLS[index[0] & 63]
        index[0] += 1
        REQUEST_ID.set(call.request_id)
        metrics.track(call)
        metrics.upstream(call, call.tried_channels[0], 200, time.perf_counter())
        metrics.stream_opened()
        metrics.stream_closed(call, call.tried_channels[0], False)
        metrics.settled(call, call.tried_channels[0], USAGE, 249)
        metrics.answered(call.request_id, None, 200)

    benchmark(_in_fresh_context(one))
    assert metrics.inflight_streams == 0


def test_hooks_of_a_rate_limited_refusal(benchmark: Any) -> None:
    metrics = Metrics("worker")

    def one() -> None:
        call = CALLS[0]
        metrics.track(call)
        metrics.refused(call, Refusal.RPM)
        metrics.answered(call.request_id, Reply(429, b"", []), 0)

    benchmark(_in_fresh_context(one))


def test_flush_encoding_of_one_busy_second(benchmark: Any) -> None:
    """What a worker encodes once a second: 16 model×channel series, streams among them."""
    metrics = Metrics("worker")
    for call, stream in zip(CALLS, STREAM_CALLS, strict=True):
        metrics.track(call)
        metrics.upstream(call, call.tried_channels[0], 200, time.perf_counter())
        metrics.settled(call, call.tried_channels[0], USAGE, 249)
        metrics.settled(stream, stream.tried_channels[0], USAGE, 249)
        metrics.answered(call.request_id, REPLY, 0)
    deltas, fields = metrics.take(), Fields()

    def encode_all() -> int:
        ints, floats = encode(deltas, fields, "worker")
        return len(ints) + len(floats)

    assert benchmark(encode_all) > 100


def test_flush_to_redis_of_one_busy_second(benchmark: Any, tmp_path: Path) -> None:
    """A whole flush (encode + one script call) of the second above, to an embedded Redis."""
    server = EmbeddedRedis(tmp_path)
    server.start()
    loop = asyncio.new_event_loop()
    redis = aioredis.Redis.from_url(f"unix://{server.socket_path}")
    metrics = Metrics("worker")
    flusher = MetricsFlusher(metrics, redis, "bench")

    def flush() -> bool:
        for call, stream in zip(CALLS, STREAM_CALLS, strict=True):
            metrics.track(call)
            metrics.upstream(call, call.tried_channels[0], 200, time.perf_counter())
            metrics.settled(call, call.tried_channels[0], USAGE, 249)
            metrics.settled(stream, stream.tried_channels[0], USAGE, 249)
            metrics.answered(call.request_id, REPLY, 0)
        return loop.run_until_complete(flusher.flush())

    try:
        assert benchmark(flush)
    finally:
        loop.run_until_complete(redis.aclose())
        loop.close()
        server.stop()
