"""End to end: the dashboard (/api/data/*) — hourly quota_data built exactly once per consume log
by the drain, after traffic through the relay port of a real `relay serve`."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import openai
import pytest
from admin_client import as_user, root
from relay_harness import MockUpstream, RelayServer, Scenario, Store
from sqlalchemy import select

from relay.store.schema import logs, quota_data

pytestmark = pytest.mark.integration

HOUR = 3600
MONTH = 2_592_000


@dataclass
class Traffic:
    a: Scenario
    b: Scenario
    a_name: str
    b_name: str
    start: int
    end: int


async def call(relay: RelayServer, s: Scenario, model: str, stream: bool = False) -> None:
    async with openai.AsyncOpenAI(base_url=relay.base_url, api_key=s.api_key, max_retries=0) as api:
        if stream:
            chunks = await api.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "hi"}], stream=True
            )
            async for _ in chunks:
                pass
            return
        await api.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])


@pytest.fixture(scope="module")
async def traffic(relay: RelayServer, store: Store, upstream: MockUpstream) -> Traffic:
    start = int(time.time()) // HOUR * HOUR
    models = ("gpt-4o-mini", "gpt-4o")
    a = await store.scenario(
        upstream,
        channels=[{"key": "mock;tag=A;pt=20;ct=10"}, {"key": "mock;tag=A2;pt=20;ct=10"}],
        models=models,
    )
    b = await store.scenario(upstream, channels=[{"key": "mock;tag=B;pt=9;ct=4"}], models=models)
    for model, stream in [("gpt-4o-mini", False), ("gpt-4o-mini", True), ("gpt-4o", False)]:
        await call(relay, a, model, stream)
    for _ in range(2):
        await call(relay, b, "gpt-4o")
    await store.wait_drained()
    names = [
        await store.scalar("SELECT username FROM users WHERE id = :i", i=s.user_id) for s in (a, b)
    ]
    return Traffic(a, b, names[0], names[1], start, int(time.time()) + HOUR)


async def consume_sums(store: Store, *key: str) -> dict[tuple[Any, ...], list[int]]:
    """Sums of the consume logs in SQL, grouped by hour and the given logs columns."""
    out: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(logs).where(logs.c.type == 2))).mappings()
        for r in rows:
            sums = out[(r["created_at"] // HOUR * HOUR, *(r[k] for k in key))]
            sums[0] += 1
            sums[1] += r["quota"]
            sums[2] += r["prompt_tokens"] + r["completion_tokens"]
    return dict(out)


def api_sums(items: list[dict[str, Any]], *key: str) -> dict[tuple[Any, ...], list[int]]:
    return {
        (i["created_at"], *(i[k] for k in key)): [i["count"], i["quota"], i["token_used"]]
        for i in items
    }


async def test_buckets_equal_the_consume_logs_exactly(store: Store, traffic: Traffic) -> None:
    bucket = ("user_id", "username", "model_name", "group", "token_id", "channel_id")
    expected = await consume_sums(store, *bucket)
    assert sum(v[0] for v in expected.values()) >= 5
    got: dict[tuple[Any, ...], list[int]] = {}
    async with store.engine.connect() as conn:
        for r in (await conn.execute(select(quota_data))).mappings():
            key = (r["created_at"], r["user_id"], r["username"], r["model_name"], r["use_group"])
            key += (r["token_id"], r["channel_id"])
            assert key not in got  # one row per bucket
            got[key] = [r["count"], r["quota"], r["token_used"]]
            assert r["created_at"] % HOUR == 0
            assert r["node_name"] == os.uname().nodename  # NODE_NAME's default
    assert got == expected


async def test_admin_dashboard_views(relay: RelayServer, store: Store, traffic: Traffic) -> None:
    window = {"start_timestamp": traffic.start, "end_timestamp": traffic.end}
    async with root(relay) as admin:
        by_model = (await admin.get("/api/data/", **window)).data
        assert api_sums(by_model, "model_name") == await consume_sums(store, "model_name")
        assert {i["model_name"] for i in by_model} == {"gpt-4o-mini", "gpt-4o"}
        one = (await admin.get("/api/data/", username=traffic.b_name, **window)).data
        assert {(i["user_id"], i["model_name"]) for i in one} == {(traffic.b.user_id, "gpt-4o")}
        assert sum(i["count"] for i in one) == 2  # one row per hour: 2 if an hour turned
        users = (await admin.get("/api/data/users", **window)).data
        assert api_sums(users, "username") == await consume_sums(store, "username")
        assert set(users[0]) >= {"username", "created_at", "count", "quota", "token_used"}
        earlier = await admin.get("/api/data/", start_timestamp=1, end_timestamp=traffic.start - 1)
        assert earlier.data == []
    admin_user = await store.user_with_token(role=10)
    async with await as_user(relay, store, admin_user.user_id) as plain_admin:
        assert (await plain_admin.get("/api/data/", **window)).data == by_model


async def test_usage_per_channel_over_time(
    relay: RelayServer, store: Store, traffic: Traffic
) -> None:
    window = {"start_timestamp": traffic.start, "end_timestamp": traffic.end}
    async with root(relay) as admin:
        rows = (await admin.get("/api/data/channels", **window)).data
    assert api_sums(rows, "channel_id") == await consume_sums(store, "channel_id")
    a_channels = {
        r["channel_id"]: r["channel_name"]
        for r in rows
        if r["channel_id"] in await channels_of(store, traffic.a.group)
    }
    assert len(a_channels) >= 1 and all(a_channels.values())
    for cid, name in a_channels.items():
        assert name == await store.scalar("SELECT name FROM channels WHERE id = :i", i=cid)
    assert set(rows[0]) >= {"model_name", "user_id", "token_used", "count", "quota"}
    async with await as_user(relay, store, traffic.a.user_id) as me:
        refused = await me.get("/api/data/channels", **window)
        assert not refused.ok and "privileges" in refused.message


async def channels_of(store: Store, group: str) -> set[int]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            select(quota_data.c.channel_id).where(quota_data.c.use_group == group).distinct()
        )
        return {int(cid) for (cid,) in rows}


async def test_self_dashboard_is_own_rows_within_a_month(
    relay: RelayServer, store: Store, traffic: Traffic
) -> None:
    async with await as_user(relay, store, traffic.a.user_id) as me:
        mine = (
            await me.get("/api/data/self", start_timestamp=traffic.start, end_timestamp=traffic.end)
        ).data
        assert {i["user_id"] for i in mine} == {traffic.a.user_id}
        counts: dict[str, int] = defaultdict(int)
        for item in mine:
            counts[item["model_name"]] += item["count"]
        assert counts == {"gpt-4o": 1, "gpt-4o-mini": 2}
        full_month = await me.get("/api/data/self", start_timestamp=1, end_timestamp=1 + MONTH)
        assert full_month.ok
        too_long = await me.get("/api/data/self", start_timestamp=1, end_timestamp=2 + MONTH)
        assert not too_long.ok and too_long.message == "The time span cannot exceed 1 month"
        refused = await me.get("/api/data/", username=traffic.b_name)
        assert not refused.ok and "privileges" in refused.message


async def test_flow_views_by_role(relay: RelayServer, store: Store, traffic: Traffic) -> None:
    window = {"start_timestamp": traffic.start, "end_timestamp": traffic.end}
    async with root(relay) as r:
        rows = (await r.get("/api/data/flow", username=traffic.a_name, **window)).data
        assert sum(i["count"] for i in rows) == 3
        assert all(i["node_name"] and i["token_name"] and i["channel_name"] for i in rows)
        assert [i["quota"] for i in rows] == sorted((i["quota"] for i in rows), reverse=True)
    admin_user = await store.user_with_token(role=10)
    async with await as_user(relay, store, admin_user.user_id) as admin:
        rows = (await admin.get("/api/data/flow", username=traffic.b_name, **window)).data
        assert [(i["username"], i["model_name"], i["count"]) for i in rows] == [
            (traffic.b_name, "gpt-4o", 2)
        ]
        assert "node_name" not in rows[0] and "token_id" not in rows[0]
        bad = await admin.get("/api/data/flow", start_timestamp=0, end_timestamp=5)
        assert not bad.ok and bad.message == "invalid start_timestamp"
        backwards = await admin.get("/api/data/flow", start_timestamp=9, end_timestamp=5)
        assert not backwards.ok and backwards.message == "invalid time range"
    async with await as_user(relay, store, traffic.b.user_id) as me:
        rows = (await me.get("/api/data/flow/self", **window)).data
        assert [(i["token_id"], i["use_group"], i["count"]) for i in rows] == [
            (traffic.b.token_id, traffic.b.group, 2)
        ]
        assert "user_id" not in rows[0] and rows[0]["token_name"]
        assert not (await me.get("/api/data/flow", **window)).ok


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/api/data/", {"start_timestamp": "today"}, "start_timestamp must be an integer"),
        ("/api/data/users", {"end_timestamp": "1.5"}, "end_timestamp must be an integer"),
        ("/api/data/channels", {"start_timestamp": "x"}, "start_timestamp must be an integer"),
        ("/api/data/", {"start_timestamp": "-" + "9" * 20}, "start_timestamp is out of range"),
        ("/api/data/self", {"start_timestamp": "x"}, "start_timestamp must be an integer"),
        ("/api/data/flow", {"start_timestamp": "1", "end_timestamp": "z"}, "end_timestamp"),
    ],
)
async def test_bad_input_is_refused_with_a_message(
    relay: RelayServer, path: str, params: dict[str, str], message: str
) -> None:
    async with root(relay) as admin:
        reply = await admin.get(path, **params)
        assert reply.status == 200 and reply.body["success"] is False
        assert message in reply.message
