"""relay.metrics.endpoint: GET /metrics on an aiohttp app, with and without METRICS_TOKEN."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import metrics_kit as kit
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from relay.metrics import families as f
from relay.metrics.endpoint import metrics_handler
from relay.metrics.exposition import CONTENT_TYPE
from relay.settings import Settings


@asynccontextmanager
async def serving(settings: Settings, redis: Any) -> AsyncIterator[TestClient[Any, Any]]:
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(settings, redis))
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_open_by_default(redis: Any) -> None:
    node = f"e{time.time_ns()}"
    await redis.hset(f.counters_key(node), f'{f.QUOTA.name}{{model="m",channel="1"}}', 12)
    async with serving(Settings(node_name=node), redis) as client:
        r = await client.get("/metrics")
        assert r.status == 200
        assert r.headers["Content-Type"] == CONTENT_TYPE
        families = kit.parse(await r.text())
    assert kit.value(families, f.QUOTA.name, model="m", channel="1") == 12


async def test_metrics_token_is_required_when_set(redis: Any) -> None:
    settings = Settings(node_name="t", metrics_token="s3cret-token")
    async with serving(settings, redis) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"}):
            r = await client.get("/metrics", headers=headers)
            assert r.status == 401, headers
            assert "s3cret" not in await r.text()
        r = await client.get("/metrics", headers={"Authorization": "bearer  s3cret-token"})
        assert r.status == 200


async def test_redis_down_is_503_not_500() -> None:
    broken = aioredis.Redis.from_url("redis://127.0.0.1:1/0")
    try:
        async with serving(Settings(node_name="x"), broken) as client:
            r = await client.get("/metrics")
            assert r.status == 503
            assert "unavailable" in await r.text()
    finally:
        await broken.aclose()


async def test_off_when_metrics_are_disabled(redis: Any) -> None:
    async with serving(Settings(node_name="off", metrics_enabled=False), redis) as client:
        r = await client.get("/metrics")
        assert r.status == 404
        assert "METRICS_ENABLED" in await r.text()
