"""relay.admin.retention: old logs deleted in batches, one admin process at a time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.admin.retention import DAY, LOCK_KEY, LogRetention
from relay.store.schema import logs

NOW = 1_800_000_000


async def fill(engine: AsyncEngine, ages_days: list[float]) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(logs))
        await conn.execute(
            insert(logs),
            [{"user_id": 1, "created_at": int(NOW - a * DAY), "type": 2} for a in ages_days],
        )


async def ages_left(engine: AsyncEngine) -> list[float]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(logs.c.created_at).order_by(logs.c.created_at))
        return [(NOW - r.created_at) / DAY for r in rows]


async def test_deletes_only_rows_older_than_the_retention(state: tuple[Any, AsyncEngine]) -> None:
    redis, engine = state
    await fill(engine, [10, 3, 2.01, 1.99, 0.5, 0])
    job = LogRetention(redis, engine, days=2, batch=2, pause=0)
    assert await job.run_once(now=NOW) == 3  # in batches of 2: 2, then 1
    assert await ages_left(engine) == [1.99, 0.5, 0]
    assert await job.run_once(now=NOW) == 0
    assert await redis.get(LOCK_KEY) is None  # released after each pass


async def test_exact_multiples_of_the_batch_finish(state: tuple[Any, AsyncEngine]) -> None:
    redis, engine = state
    await fill(engine, [9, 8, 7, 6, 0])
    assert await LogRetention(redis, engine, days=1, batch=2, pause=0).run_once(now=NOW) == 4
    assert await ages_left(engine) == [0]


async def test_another_admin_holding_the_lock_means_skip(state: tuple[Any, AsyncEngine]) -> None:
    redis, engine = state
    await fill(engine, [5, 0])
    await redis.set(LOCK_KEY, "another-admin", px=60_000)
    try:
        assert await LogRetention(redis, engine, days=1, pause=0).run_once(now=NOW) == 0
        assert await redis.get(LOCK_KEY) == b"another-admin"
    finally:
        await redis.delete(LOCK_KEY)
    assert await LogRetention(redis, engine, days=1, pause=0).run_once(now=NOW) == 1


async def test_zero_days_keeps_everything(state: tuple[Any, AsyncEngine]) -> None:
    redis, engine = state
    await fill(engine, [1000, 0])
    assert await LogRetention(redis, engine, days=0).run_once(now=NOW) == 0
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(logs)) == 2
