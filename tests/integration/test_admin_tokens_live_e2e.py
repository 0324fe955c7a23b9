"""End to end: token changes made through the admin API while the relay serves the token —
disable/enable, the re-enable rules, relay's rate limits, and an exact quota override under
concurrent load."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
from admin_client import AdminClient, as_user
from relay_harness import MockUpstream, RelayServer, Store
from relay_http import chat_status
from sqlalchemy import text

pytestmark = pytest.mark.integration

EXPIRED = "Token has expired and cannot be enabled"
EXHAUSTED = "Token quota is exhausted and cannot be enabled"


async def set_status(me: AdminClient, token_id: int, status: int) -> tuple[bool, str]:
    reply = await me.put("/api/token/", {"id": token_id, "status": status}, status_only=1)
    return bool(reply.ok), reply.message


async def test_disabling_stops_the_relay_at_once_and_enabling_restores_it(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream)
    async with await as_user(relay, store, s.user_id) as me:
        # warm every worker's caches (principal and balance) with a few calls
        assert await asyncio.gather(*(chat_status(relay, s.api_key) for _ in range(6))) == [200] * 6
        assert await set_status(me, s.token_id, 2) == (True, "")
        # the change is applied before the reply: the very next calls, on any worker, fail
        statuses = await asyncio.gather(*(chat_status(relay, s.api_key) for _ in range(6)))
        assert statuses == [401] * 6
        listed = (await me.get(f"/api/token/{s.token_id}")).data
        assert listed["status"] == 2
        assert await set_status(me, s.token_id, 1) == (True, "")
        deadline = time.monotonic() + 1.0
        while await chat_status(relay, s.api_key) != 200:  # workers drop the cached refusal
            assert time.monotonic() < deadline, "the re-enabled token was refused for over 1 s"
            await asyncio.sleep(0.05)
        assert await asyncio.gather(*(chat_status(relay, s.api_key) for _ in range(6))) == [200] * 6


async def test_expired_or_exhausted_tokens_cannot_be_re_enabled(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    past = int(time.time()) - 10
    expired = await store.user_with_token(expired_time=past)
    async with await as_user(relay, store, expired.user_id) as me:
        assert await set_status(me, expired.token_id, 2) == (True, "")
        ok, message = await set_status(me, expired.token_id, 1)
        assert not ok and EXPIRED in message
        # the full update keeps an unchanged past expiry but may set a new one
        kept = await me.put("/api/token/", {"id": expired.token_id, "expired_time": past})
        assert kept.ok and kept.data["expired_time"] == past
        assert (await me.put("/api/token/", {"id": expired.token_id, "expired_time": -1})).ok
        assert await set_status(me, expired.token_id, 1) == (True, "")

    empty = await store.scenario(upstream, remain=0)
    async with await as_user(relay, store, empty.user_id) as me:
        assert await chat_status(relay, empty.api_key) == 401  # exhausted: relay refuses the token
        assert await set_status(me, empty.token_id, 2) == (True, "")
        ok, message = await set_status(me, empty.token_id, 1)
        assert not ok and EXHAUSTED in message
        topped = await me.put("/api/token/", {"id": empty.token_id, "remain_quota": 50_000})
        assert topped.ok and topped.data["remain_quota"] == 50_000
        assert await set_status(me, empty.token_id, 1) == (True, "")
        assert await chat_status(relay, empty.api_key) == 200

    unlimited = await store.user_with_token(remain=0, unlimited_quota=True)
    async with await as_user(relay, store, unlimited.user_id) as me:
        assert await set_status(me, unlimited.token_id, 2) == (True, "")
        assert await set_status(me, unlimited.token_id, 1) == (True, "")


async def test_rate_limit_rpm_set_through_the_api_is_enforced(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream)
    async with await as_user(relay, store, s.user_id) as me:
        assert await chat_status(relay, s.api_key) == 200  # cached by a worker before the change
        reply = await me.put("/api/token/", {"id": s.token_id, "rate_limit_rpm": 2})
        assert reply.ok and reply.data["rate_limit_rpm"] == 2
        left = 60 - time.time() % 60
        if left < 5:
            await asyncio.sleep(left + 0.2)  # keep the calls inside one minute
        await asyncio.sleep(0.3)  # the change event reaches the workers
        statuses = [await chat_status(relay, s.api_key) for _ in range(4)]
        assert statuses == [200, 200, 429, 429]
        await me.put("/api/token/", {"id": s.token_id, "rate_limit_rpm": 0})
        await asyncio.sleep(0.3)
        assert await chat_status(relay, s.api_key) == 200


async def audit_remain(store: Store, token_id: int) -> tuple[int, int]:
    """(before, after) remain quota recorded by the admin's `updated` audit row."""
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT other FROM logs WHERE type = 3 AND content LIKE :c"),
            {"c": f"updated token #{token_id} %"},
        )
        (other,) = [orjson.loads(row[0]) for row in rows]
    return int(other["before"]["remain_quota"]), int(other["after"]["remain_quota"])


async def test_remain_quota_override_under_load_is_exact(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    initial, target = 40_000_000, 30_000_000
    s = await store.scenario(upstream, channels=[{"key": "mock;delay=250"}], remain=initial)
    async with await as_user(relay, store, s.user_id) as me:

        async def staggered(i: int) -> int:
            await asyncio.sleep(i * 0.02)
            return await chat_status(relay, s.api_key)

        calls = [asyncio.ensure_future(staggered(i)) for i in range(30)]
        await asyncio.sleep(0.4)  # some calls have settled, others are in flight
        reply = await me.put("/api/token/", {"id": s.token_id, "remain_quota": target})
        assert reply.ok, reply.body
        assert await asyncio.gather(*calls) == [200] * 30
    before, after = await audit_remain(store, s.token_id)
    assert after == target
    spent_before = initial - before  # settled before the override (remain + used is constant)
    b = await store.balances(s)
    assert b["token_held"] == 0 and b["user_held"] == 0
    spent_after = target - b["token"]
    assert b["token_used"] == spent_before + spent_after
    assert spent_after > 0  # calls did settle after the override
    await store.wait_drained()
    async with store.engine.connect() as conn:
        remain, used = (
            await conn.execute(
                text("SELECT remain_quota, used_quota FROM tokens WHERE id = :i"),
                {"i": s.token_id},
            )
        ).one()
        billed = (
            await conn.execute(
                text("SELECT SUM(quota), COUNT(*) FROM logs WHERE token_id = :i AND type = 2"),
                {"i": s.token_id},
            )
        ).one()
    assert (remain, used) == (b["token"], b["token_used"])
    assert (int(billed[0]), billed[1]) == (b["token_used"], 30)
