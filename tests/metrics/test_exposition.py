"""relay.metrics.exposition: the text format, its order, and the per-process gauges."""

from __future__ import annotations

import time
from typing import Any

import metrics_kit as kit
from metrics_kit import fake_call

from relay.metrics import families as f
from relay.metrics.exposition import live_gauges, render, scrape
from relay.metrics.flusher import LE, MetricsFlusher
from relay.metrics.registry import Metrics
from relay.providers.base import Usage


def test_every_family_is_declared_even_without_samples() -> None:
    families = kit.parse(render({}, {}, time.time()))
    assert set(families) == {fam.name for fam in f.FAMILIES}
    for fam in f.FAMILIES:
        assert families[fam.name].type == fam.type and families[fam.name].help
    assert kit.value(families, f.INFLIGHT_STREAMS.name) == 0


def test_histograms_are_rendered_cumulative_with_every_bucket() -> None:
    name = f.UPSTREAM_LATENCY.name
    counters = {
        f'{name}_hits{{model="m",channel="1",le="+Inf"}}': "1",
        f'{name}_hits{{model="m",channel="1",le="0.5"}}': "1",
        f'{name}_hits{{model="m",channel="1",le="0.005"}}': "2",
        f'{name}_sum{{model="m",channel="1"}}': "400.25",
        f'{f.REQUESTS.name}{{model="m",channel="1",status="200"}}': "4",
        'relay_retired_metric{model="m"}': "9",
    }
    text = render(counters, {}, time.time())
    assert "relay_retired_metric" not in text and "_hits" not in text
    lines = [line for line in text.splitlines() if line.startswith(name)]
    assert len(lines) == len(LE) + 2
    assert lines[0] == f'{name}_bucket{{model="m",channel="1",le="0.005"}} 2'
    assert f'{name}_bucket{{model="m",channel="1",le="0.25"}} 2' in lines
    assert f'{name}_bucket{{model="m",channel="1",le="0.5"}} 3' in lines
    assert lines[-3:] == [
        f'{name}_bucket{{model="m",channel="1",le="+Inf"}} 4',
        f'{name}_count{{model="m",channel="1"}} 4',
        f'{name}_sum{{model="m",channel="1"}} 400.25',
    ]
    assert kit.check_histograms(kit.parse(text)) == 1


def test_error_counters_show_zero_for_live_roles() -> None:
    live = {"worker:1": f"{time.time()} 0", "admin:2": f"{time.time()} 0"}
    counters = {f'{f.REDIS_ERRORS.name}{{role="worker"}}': "3"}
    families = kit.parse(render(counters, live, time.time()))
    assert kit.value(families, f.REDIS_ERRORS.name, role="worker") == 3
    assert kit.value(families, f.REDIS_ERRORS.name, role="admin") == 0
    assert len(families[f.SQL_ERRORS.name].samples) == 2


def test_live_gauges_count_only_fresh_processes() -> None:
    now = 1000.0
    live = {"worker:1": "999.0 3", "worker:2": "998.5 1", "admin:3": "999.9 0", "worker:4": "990 7"}
    live["worker:5"] = "garbage"
    inflight, roles, stale = live_gauges(live, now)
    assert (inflight, roles) == (4, {"worker": 2, "admin": 1})
    assert sorted(stale) == ["worker:4", "worker:5"]


async def test_scrape_renders_the_node_and_drops_stale_entries(redis: Any) -> None:
    node = f"s{time.time_ns()}"
    metrics = Metrics("worker")
    metrics.track(fake_call("r", tried_channels=[9]))
    metrics.answered("r", None, 200)
    metrics.upstream(fake_call(), 9, 200, time.perf_counter())
    metrics.settled(fake_call(), 9, Usage(3, 4), 5)
    metrics.stream_opened()
    assert await MetricsFlusher(metrics, redis, node).flush()
    await redis.hset(f.live_key(node), "worker:999999", f"{time.time() - 60} 5")
    families = kit.parse(await scrape(redis, node))
    assert kit.value(families, f.REQUESTS.name, model="gpt-4o", channel="9", status="200")
    assert kit.value(families, f.COMPLETION_TOKENS.name, model="gpt-4o", channel="9") == 4
    assert kit.value(families, f.INFLIGHT_STREAMS.name) == 1  # not the stale 5
    assert kit.value(families, f.PROCESSES.name, role="worker") == 1
    assert kit.check_histograms(families) == 1
    assert b"worker:999999" not in await redis.hkeys(f.live_key(node))
