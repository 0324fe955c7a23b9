"""relay.admin.channel_health: the error-rate window, disabling channels and keys, and the
decisions after a channel test (real Redis and SQL, no server)."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from relay import health
from relay.admin.channel_health import ChannelHealth, disable_channel, mark_fresh, window_counts
from relay.admin.channel_probe import ProbeOutcome
from relay.admin.context import AdminContext
from relay.crypto import Keyring
from relay.errors import RelayError
from relay.quota.service import QuotaService
from relay.settings import Settings
from relay.store.channels import create_channel, get_channel, parse_info
from relay.store.options import set_option
from relay.store.schema import logs

KEYRING = Keyring("health-test-secret")
_names = itertools.count(1)
RATE_OPTIONS = {
    "AutomaticDisableChannelEnabled": "true",
    "relay.channel_error_window_minutes": "2",
    "relay.channel_error_rate": "0.5",
    "relay.channel_error_min_requests": "4",
}


async def _no_balances(_u: int, _t: int) -> None:
    return None


@pytest.fixture(scope="module")
async def ctx(state: tuple[Any, AsyncEngine]) -> AsyncIterator[AdminContext]:
    """An admin process's context on the module's Redis and database (tests/admin/conftest)."""
    redis, engine = state
    async with aiohttp.ClientSession() as http:
        yield AdminContext(
            settings=Settings(),
            engine=engine,
            redis=redis,
            keyring=KEYRING,
            quota=QuotaService(redis, 60, _no_balances),
            http=http,
            started=time.time(),
        )


async def channel(ctx: AdminContext, key: str = "k", **extra: Any) -> int:
    async with ctx.engine.begin() as conn:
        return await create_channel(
            conn, KEYRING, name=f"c{next(_names)}", key=key, models=["m"], **extra
        )


async def state(ctx: AdminContext, channel_id: int) -> tuple[int, dict[str, Any]]:
    async with ctx.engine.connect() as conn:
        row = await get_channel(conn, channel_id)
    assert row is not None
    return int(row["status"]), parse_info(row["channel_info"])


async def count(ctx: AdminContext, channel_id: int, key: str, ok: int, bad: int) -> None:
    bucket = health.bucket_key(health.bucket_of(time.time()))
    for qualifying, n in ((False, ok), (True, bad)):
        if n:
            await ctx.redis.hincrby(bucket, health.counter_field(channel_id, key, qualifying), n)


async def test_window_counts_sum_recent_buckets_after_the_fresh_mark(ctx: AdminContext) -> None:
    now = 1_000_000.0
    current, old = health.bucket_of(now), health.bucket_of(now - 90)
    gone = health.bucket_of(now - 200)
    for bucket, n in ((current, 2), (old, 3), (gone, 50)):
        await ctx.redis.hincrby(health.bucket_key(bucket), "901:aa:e", n)
    await ctx.redis.hincrby(health.bucket_key(current), "901:aa:n", 5)
    await ctx.redis.hincrby(health.bucket_key(current), "902:bb:n", 1)
    await ctx.redis.hincrby(health.bucket_key(current), "junk", 1)
    counts = await window_counts(ctx.redis, 2, now)
    assert counts[901] == {"aa": [10, 5]} and counts[902] == {"bb": [1, 0]}
    await ctx.redis.hset(health.SINCE_KEY, "901", int(now) - 60)
    assert (await window_counts(ctx.redis, 2, now))[901] == {"aa": [7, 2]}


async def test_evaluate_disables_by_rate_and_respects_auto_ban(ctx: AdminContext) -> None:
    async with ctx.engine.begin() as conn:
        for key, value in RATE_OPTIONS.items():
            await set_option(conn, key, value)
    bad, few, mixed = [await channel(ctx) for _ in range(3)]
    noban = await channel(ctx, auto_ban=0)
    await count(ctx, bad, "k", 1, 4)
    await count(ctx, few, "k", 0, 3)
    await count(ctx, mixed, "k", 6, 4)
    await count(ctx, noban, "k", 0, 9)
    await ctx.redis.delete("relay:lock:channel-health")
    assert await ChannelHealth(ctx).evaluate() == 1
    assert [(await state(ctx, c))[0] for c in (bad, few, mixed, noban)] == [3, 1, 1, 1]
    assert await ChannelHealth(ctx).evaluate() == 0  # the lock holds until the next period
    async with ctx.engine.connect() as conn:
        rows = (await conn.execute(select(logs.c.content, logs.c.other))).all()
    other = next(orjson.loads(o) for c, o in rows if c.endswith(f"auto-disabled #{bad}"))
    assert other["before"]["status"] == 1 and other["after"]["status"] == 3


async def test_multi_key_channels_lose_the_failing_key_then_the_channel(
    ctx: AdminContext,
) -> None:
    info = '{"is_multi_key": true, "multi_key_size": 2, "multi_key_status_list": {}}'
    multi = await channel(ctx, key="good\nbad", channel_info=info)
    await count(ctx, multi, "good", 8, 0)
    await count(ctx, multi, "bad", 0, 8)
    await ctx.redis.delete("relay:lock:channel-health")
    assert await ChannelHealth(ctx).evaluate() == 1
    status, after = await state(ctx, multi)
    assert status == 1 and after["multi_key_status_list"] == {"1": 3}
    await mark_fresh(ctx.redis, multi)  # what was counted so far no longer matters
    await count(ctx, multi, "good", 0, 8)
    await ctx.redis.delete("relay:lock:channel-health")
    assert await ChannelHealth(ctx).evaluate() == 0
    assert await disable_channel(ctx, multi, "test", 0)  # the last key: the channel goes too
    status, after = await state(ctx, multi)
    assert status == 3 and after["multi_key_status_list"] == {"0": 3, "1": 3}
    assert not await disable_channel(ctx, multi, "again", 0)


async def test_test_outcomes_disable_and_re_enable(ctx: AdminContext) -> None:
    jobs = ChannelHealth(ctx)
    async with ctx.engine.begin() as conn:
        await set_option(conn, "AutomaticEnableChannelEnabled", "true")
        await set_option(conn, "ChannelDisableThreshold", "1")
    options, _ = await ctx.options()
    failing = await channel(ctx)
    async with ctx.engine.connect() as conn:
        row = await get_channel(conn, failing)
    bad = ProbeOutcome(False, "nope", 10, RelayError(401, "invalid key"))
    assert await jobs.apply_outcome(row, bad, options, allow_disable=False) == 0
    assert await jobs.apply_outcome(row, bad, options, allow_disable=True) == 1
    assert (await state(ctx, failing))[0] == 3
    async with ctx.engine.connect() as conn:
        row = await get_channel(conn, failing)
    slow = ProbeOutcome(True, "", 5000)
    assert await jobs.apply_outcome(row, slow, options, allow_disable=True) == 1
    assert (await state(ctx, failing))[0] == 1
    async with ctx.engine.connect() as conn:
        row = await get_channel(conn, failing)
    assert await jobs.apply_outcome(row, slow, options, allow_disable=True) == 1  # too slow
    manual = await channel(ctx, status=2)
    async with ctx.engine.connect() as conn:
        row = await get_channel(conn, manual)
    assert await jobs.apply_outcome(row, ProbeOutcome(True, "", 1), options, True) == 0
    assert (await state(ctx, manual))[0] == 2
