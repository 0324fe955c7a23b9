"""relay.metrics.flusher: deltas become node-wide sums in a real Redis, and survive failures."""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis
from metrics_kit import fake_call

from relay.metrics import families as f
from relay.metrics.flusher import OTHER, Fields, MetricsFlusher, encode, escape
from relay.metrics.registry import Deltas, Metrics, new_histogram
from relay.providers.base import Usage


async def counters(redis: Any, node: str) -> dict[str, str]:
    raw = await redis.hgetall(f.counters_key(node))
    return {k.decode(): v.decode() for k, v in raw.items()}


def test_escape() -> None:
    assert escape('a"b\\c\nd') == 'a\\"b\\\\c\\nd'


def test_histograms_are_encoded_sparse() -> None:
    h = new_histogram()
    h[0] += 1  # le=0.005
    h[2] += 2  # le=0.025
    h[-2] += 1  # +Inf
    h[-1] = 400.5
    deltas = Deltas(upstream_latency={("m", 3): h})
    ints, floats = encode(deltas, Fields(), "worker")
    name = f.UPSTREAM_LATENCY.name
    assert ints == {  # only the buckets hit, not cumulative: the renderer accumulates
        f'{name}_hits{{model="m",channel="3",le="0.005"}}': 1,
        f'{name}_hits{{model="m",channel="3",le="0.025"}}': 2,
        f'{name}_hits{{model="m",channel="3",le="+Inf"}}': 1,
    }
    assert floats == {f'{name}_sum{{model="m",channel="3"}}': 400.5}


def test_label_sets_past_the_limit_share_the_other_model() -> None:
    fields = Fields(limit=2)
    deltas = Deltas(
        requests={("a", 1, 200): 1, ("b", 1, 200): 1, ("c", 1, 200): 2, ("d", 0, 200): 3}
    )
    ints, _ = encode(deltas, fields, "worker")
    name = f.REQUESTS.name
    assert ints == {
        f'{name}{{model="a",channel="1",status="200"}}': 1,
        f'{name}{{model="b",channel="1",status="200"}}': 1,
        f'{name}{{model="{OTHER}",channel="1",status="200"}}': 2,
        f'{name}{{model="{OTHER}",channel="",status="200"}}': 3,
    }


async def test_two_processes_sum_into_the_node_hash(redis: Any) -> None:
    node = f"n{time.time_ns()}"
    workers = [Metrics("worker"), Metrics("worker")]
    flushers = [MetricsFlusher(m, redis, node) for m in workers]
    for i, m in enumerate(workers):
        m.answered("x", None, 200)
        m.settled(fake_call(), 2, Usage(10 * (i + 1), 1), 7)
        m.error("sql")
    workers[1].stream_opened()
    for flusher in flushers:
        assert await flusher.flush()
    got = await counters(redis, node)
    assert got[f'{f.REQUESTS.name}{{model="",channel="",status="200"}}'] == "2"
    assert got[f'{f.PROMPT_TOKENS.name}{{model="gpt-4o",channel="2"}}'] == "30"
    assert got[f'{f.QUOTA.name}{{model="gpt-4o",channel="2"}}'] == "14"
    assert got[f'{f.SQL_ERRORS.name}{{role="worker"}}'] == "2"
    live = await redis.hgetall(f.live_key(node))
    assert len(live) == 1  # both fakes share this test's pid: one entry, the last writer's
    # a second flush adds only what is new
    workers[0].answered("x", None, 200)
    assert await flushers[0].flush()
    got = await counters(redis, node)
    assert got[f'{f.REQUESTS.name}{{model="",channel="",status="200"}}'] == "3"
    await flushers[0].close()
    assert await redis.hgetall(f.live_key(node)) == {}


async def test_a_failed_flush_keeps_the_deltas_for_the_next() -> None:
    metrics = Metrics("worker")
    metrics.answered("x", None, 200)
    broken = aioredis.Redis.from_url("redis://127.0.0.1:1/0")
    try:
        assert not await MetricsFlusher(metrics, broken, "nowhere").flush()
    finally:
        await broken.aclose()
    assert metrics.deltas.requests == {("", 0, 200): 1}
    assert metrics.deltas.errors == {"redis": 1}
