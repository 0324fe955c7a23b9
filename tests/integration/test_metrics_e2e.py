"""End to end: `GET /metrics` on the admin port of a real `relay serve` (2 workers) sums both
workers' counts exactly, and LOG_FORMAT=json writes one JSON object per log line."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import metrics_kit as kit
import openai
import orjson
import pytest
from relay_harness import Backend, MockUpstream, RelayServer, Store

from relay.metrics import families as f

pytestmark = pytest.mark.integration

METRICS_TOKEN = "metrics-scrape-token-42"
MODEL = "gpt-4o-mini"
CALLS, STREAMS = 6, 4


@pytest.fixture(scope="module")
async def relay(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RelayServer]:
    env = {
        "LOG_FORMAT": "json",
        "METRICS_TOKEN": METRICS_TOKEN,
        # a node of its own: with a shared Redis, other servers' counts stay out of its sums
        "NODE_NAME": f"metrics-e2e-{uuid.uuid4().hex[:8]}",
    }
    server = RelayServer(
        backend=backend, data_dir=tmp_path_factory.mktemp("relay") / "data", extra_env=env
    )
    await server.start()
    yield server
    assert server.stop() == 0, server.log()
    assert "Traceback" not in server.log(), server.log()


def client(relay: RelayServer, api_key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=relay.base_url, api_key=api_key, max_retries=0)


async def scrape(relay: RelayServer, token: str | None = METRICS_TOKEN) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{relay.admin_url}/metrics", headers=headers) as r,
    ):
        return r.status, await r.text()


async def scrape_until(relay: RelayServer, ready: Any, timeout: float = 5.0) -> dict[str, Any]:
    """Scrape until `ready(families)` holds (workers flush once a second)."""
    deadline = time.monotonic() + timeout
    while True:
        status, text = await scrape(relay)
        assert status == 200, text
        families = kit.parse(text)
        if ready(families) or time.monotonic() > deadline:
            return families
        await asyncio.sleep(0.2)


async def test_metrics_sum_both_workers_exactly(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;pt=10;ct=5;delay=30"}])
    limited = await store.scenario(upstream, channels=[{"key": "mock;pt=3;ct=2"}], rate_limit_rpm=1)
    (channel,), (limited_channel,) = s.channel_ids, limited.channel_ids
    async with client(relay, s.api_key) as api:

        async def whole() -> None:
            await api.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "hi"}]
            )

        async def streamed() -> None:
            stream = await api.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
            )
            assert [c async for c in stream]

        # concurrent calls open several connections: both workers serve some
        await asyncio.gather(
            *[whole() for _ in range(CALLS)], *[streamed() for _ in range(STREAMS)]
        )
    async with client(relay, limited.api_key) as api:
        await api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "a"}])
        with pytest.raises(openai.RateLimitError):
            await api.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "b"}]
            )

    def ok(fam: dict[str, Any], ch: int) -> float:
        return kit.value(fam, f.REQUESTS.name, model=MODEL, channel=str(ch), status="200")

    def ready(fam: dict[str, Any]) -> bool:
        refused = kit.value(fam, f.REQUESTS.name, model=MODEL, channel="", status="429")
        return ok(fam, channel) >= CALLS + STREAMS and ok(fam, limited_channel) >= 1 and refused

    families = await scrape_until(relay, ready)
    assert ok(families, channel) == CALLS + STREAMS
    assert ok(families, limited_channel) == 1
    assert kit.value(families, f.REQUESTS.name, model=MODEL, channel="", status="429") == 1
    assert kit.value(families, f.RATE_LIMITED.name, model=MODEL, limit="rpm") == 1
    assert kit.value(families, f.PROCESSES.name, role="worker") == relay.workers == 2
    assert kit.value(families, f.PROCESSES.name, role="admin") == 1
    assert kit.value(families, f.INFLIGHT_STREAMS.name) == 0
    labels = {"model": MODEL, "channel": str(channel)}
    assert kit.value(families, f.UPSTREAM_RESPONSES.name, **labels, status="200") == 10
    # histograms: every call's upstream answer, every stream's first token
    assert kit.check_histograms(families) >= 3
    latency = f.UPSTREAM_LATENCY.name
    assert kit.value(families, f"{latency}_count", **labels) == CALLS + STREAMS
    assert kit.value(families, f"{latency}_bucket", **labels, le="0.025") == 0  # 30 ms delay
    assert kit.value(families, f"{latency}_sum", **labels) >= 0.03 * (CALLS + STREAMS)
    assert kit.value(families, f"{f.FIRST_TOKEN.name}_count", **labels) == STREAMS
    # tokens and quota match what the usage logs recorded
    prompt = kit.value(families, f.PROMPT_TOKENS.name, **labels)
    completion = kit.value(families, f.COMPLETION_TOKENS.name, **labels)
    assert (prompt, completion) == (10 * (CALLS + STREAMS), 5 * (CALLS + STREAMS))
    await store.wait_drained()
    logged = await store.scalar(
        "SELECT SUM(quota) FROM logs WHERE channel_id = :c AND type = 2", c=channel
    )
    assert logged and kit.value(families, f.QUOTA.name, **labels) == logged
    logged_prompt = await store.scalar(
        "SELECT SUM(prompt_tokens) FROM logs WHERE channel_id = :c", c=channel
    )
    assert prompt == logged_prompt


async def test_streams_in_flight_and_a_client_that_leaves(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;chunk_delay=150;words=40"}])
    (channel,) = s.channel_ids
    async with client(relay, s.api_key) as api:
        stream = await api.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "slow"}], stream=True
        )
        await anext(aiter(stream))
        families = await scrape_until(relay, lambda fam: kit.value(fam, f.INFLIGHT_STREAMS.name))
        assert kit.value(families, f.INFLIGHT_STREAMS.name) == 1
        await stream.close()  # the client leaves mid-stream

    def left(fam: dict[str, Any]) -> float:
        return kit.value(fam, f.REQUESTS.name, model=MODEL, channel=str(channel), status="499")

    families = await scrape_until(relay, left)
    assert left(families) == 1
    assert kit.value(families, f.INFLIGHT_STREAMS.name) == 0
    assert (
        kit.value(families, f.REQUESTS.name, model=MODEL, channel=str(channel), status="200") == 0
    )


async def test_counters_survive_a_worker_restart(relay: RelayServer) -> None:
    def requests(fam: dict[str, Any]) -> float:
        return kit.total(fam, f.REQUESTS.name, model=MODEL)

    before = await scrape_until(relay, lambda fam: True)
    victim = relay.worker_pids()[0]
    os.kill(victim, signal.SIGTERM)  # drains, sends its last counts, is replaced

    def replaced(fam: dict[str, Any]) -> bool:
        pids = relay.worker_pids()
        return (
            victim not in pids
            and len(pids) == 2
            and (kit.value(fam, f.PROCESSES.name, role="worker") == 2)
        )

    after = await scrape_until(relay, replaced, timeout=15)
    assert replaced(after)
    assert requests(after) == requests(before) > 0
    assert kit.total(after, f.QUOTA.name) == kit.total(before, f.QUOTA.name)


async def test_metrics_token_is_enforced(relay: RelayServer) -> None:
    status, text = await scrape(relay, token=None)
    assert status == 401 and METRICS_TOKEN not in text
    assert (await scrape(relay, token="wrong"))[0] == 401
    status, text = await scrape(relay)
    assert status == 200 and "# TYPE relay_requests_total counter" in text


async def test_logs_are_one_json_object_per_line(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;cut=2;words=20"}])
    async with client(relay, s.api_key) as api:
        stream = await api.chat.completions.with_raw_response.create(
            model=MODEL, messages=[{"role": "user", "content": "cut me"}], stream=True
        )
        request_id = stream.headers["X-Oneapi-Request-Id"]
        assert [c async for c in stream.parse()]
    deadline = time.monotonic() + 5
    while request_id not in relay.log() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    entries = [orjson.loads(line) for line in relay.log().splitlines() if line.strip()]
    for entry in entries:
        assert {"time", "level", "logger", "message", "pid", "role"} <= entry.keys(), entry
    roles = {e["role"] for e in entries}
    assert {"supervisor", "worker"} <= roles, roles
    cut = [e for e in entries if e["message"].startswith("upstream stream of")]
    assert cut and cut[-1]["request_id"] == request_id and cut[-1]["role"] == "worker"
    assert s.key not in relay.log() and METRICS_TOKEN not in relay.log()
