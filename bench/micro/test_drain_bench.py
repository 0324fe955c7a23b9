"""Micro-benchmark of the admin's usage-log drain: apply_logs on a batch of 2,000 records.

Run: python -m pytest bench/micro/test_drain_bench.py -p no:cacheprovider --benchmark-enable -q
(add TEST_PG_DSN=postgresql://… for PostgreSQL too; --benchmark-timer=time.process_time for
this process's CPU alone, aiosqlite's thread included)

Each round inserts one batch (one transaction, as StreamDrainer does) into the empty tables of
a migrated database (emptied, untimed, before each round); rows/s is 2,000 / mean.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import orjson
import pytest
from relay_harness import pg_database  # tests/ is on pytest's pythonpath
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.admin.drain import BATCH, Entry, apply_logs
from relay.store.engine import make_engine
from relay.store.migrate import run_migrations
from relay.store.schema import logs, quota_data

MODELS = ("gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "deepseek-chat")
NOW = 1_760_000_000


def _record(i: int) -> bytes:
    """A consume record shaped like relay.pipeline.settle.log_record's (~600 bytes)."""
    channel = 3 + i % 4
    other = {
        "model_ratio": 0.075,
        "group_ratio": 1.0,
        "completion_ratio": 4.0,
        "cache_ratio": 0.5,
        "model_price": -1,
        "cache_tokens": 0,
        "frt": 412 + i % 97,
        "is_model_mapped": True,
        "upstream_model_name": f"{MODELS[i % len(MODELS)]}-2024-07-18",
        "admin_info": {"use_channel": [str(channel)]},
    }
    return msgpack.packb(
        {
            "user_id": 1 + i % 50,
            "created_at": NOW + i // 100,
            "type": 2,
            "content": "",
            "username": f"user{1 + i % 50}",
            "token_name": "production-backend",
            "model_name": MODELS[i % len(MODELS)],
            "quota": 249 + i % 13,
            "prompt_tokens": 57,
            "completion_tokens": 34 + i % 7,
            "use_time": 1,
            "is_stream": bool(i % 2),
            "channel_id": channel,
            "token_id": 1 + i % 50,
            "group": "default",
            "ip": "203.0.113.17",
            "request_id": f"20261203135536{i:012d}abcdefgh",
            "upstream_request_id": f"chatcmpl-9xTq2bH7kLmN0pQrStUvWxYz{i:08d}",
            "other": orjson.dumps(other).decode(),
            "node_name": "node-a",
        }
    )


ENTRIES: list[Entry] = [(f"{NOW}000-{i}".encode(), {b"r": _record(i)}) for i in range(BATCH)]


def _urls() -> list[Any]:
    params: list[Any] = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get("TEST_PG_DSN"):
        params.append(pytest.param("pg", id="pg"))
    return params


@pytest.fixture(params=_urls())
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AsyncEngine]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}"
        run_migrations(url)
        yield make_engine(url)
        return
    with pg_database(os.environ["TEST_PG_DSN"]) as dsn:
        url = "postgresql+asyncpg://" + dsn.split("://", 1)[1]
        run_migrations(url)
        yield make_engine(url)


def test_apply_logs_of_one_batch(benchmark: Any, engine: AsyncEngine) -> None:
    """One drained batch of 2,000 usage records: logs rows + quota_data buckets, committed."""
    assert len(ENTRIES[0][1][b"r"]) > 550
    loop = asyncio.new_event_loop()

    async def empty() -> None:
        async with engine.begin() as conn:
            await conn.execute(delete(logs))
            await conn.execute(delete(quota_data))

    async def apply() -> None:
        async with engine.begin() as conn:
            await apply_logs(conn, ENTRIES)

    try:
        benchmark.pedantic(
            lambda: loop.run_until_complete(apply()),
            setup=lambda: loop.run_until_complete(empty()),
            rounds=15,
            warmup_rounds=1,
        )
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()
