"""relay.store.quota_data: consume logs folded into hour buckets by upsert, and the dashboard
queries over them."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.crypto import Keyring
from relay.store import quota_data as qd
from relay.store.schema import quota_data
from relay.store.tokens import create_token
from relay.store.users import create_user

HOUR = 3600
T0 = 1_800_000_000 - 1_800_000_000 % HOUR  # an hour boundary
_uids = itertools.count(20_000)


def consume(uid: int, at: int, **kw: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "type": 2,
        "user_id": uid,
        "created_at": at,
        "username": f"user{uid}",
        "model_name": "gpt-4o-mini",
        "group": "default",
        "token_id": 1,
        "channel_id": 2,
        "node_name": "node-a",
        "quota": 10,
        "prompt_tokens": 3,
        "completion_tokens": 4,
    }
    values.update(kw)
    return values


def test_buckets_fold_consume_logs_by_hour_and_keys() -> None:
    rows = [
        consume(1, T0),
        consume(1, T0 + HOUR - 1, quota=5),
        consume(1, T0 + HOUR),
        consume(1, T0, model_name="o3"),
        consume(1, T0, type=5),  # an error log: not usage
        consume(1, T0, node_name=None),
    ]
    out = qd.buckets(rows)
    key = (1, T0, "user1", "gpt-4o-mini", "default", 1, 2, "node-a")
    assert out[key] == [14, 2, 15]
    assert out[(1, T0 + HOUR, *key[2:])] == [7, 1, 10]
    assert out[(1, T0, "user1", "o3", "default", 1, 2, "node-a")] == [7, 1, 10]
    assert out[(*key[:-1], "")] == [7, 1, 10]
    assert len(out) == 4


async def buckets_of(engine: AsyncEngine, uid: int) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(
                quota_data.c.created_at,
                quota_data.c.model_name,
                quota_data.c.token_used,
                quota_data.c.count,
                quota_data.c.quota,
            )
            .where(quota_data.c.user_id == uid)
            .order_by(quota_data.c.created_at, quota_data.c.model_name)
        )
        return [tuple(r) for r in rows]


async def test_batches_upsert_increment_one_row_per_bucket(engine: AsyncEngine) -> None:
    uid = next(_uids)
    async with engine.begin() as conn:
        assert await qd.add_consume_logs(conn, [consume(uid, T0), consume(uid, T0 + 5)]) == 1
        assert await qd.add_consume_logs(conn, []) == 0
    async with engine.begin() as conn:
        batch = [consume(uid, T0 + 9, quota=1), consume(uid, T0 + HOUR, model_name="o3")]
        assert await qd.add_consume_logs(conn, batch) == 2
    assert await buckets_of(engine, uid) == [
        (T0, "gpt-4o-mini", 21, 3, 21),
        (T0 + HOUR, "o3", 7, 1, 10),
    ]
    async with engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(quota_data).where(quota_data.c.user_id == uid)
        )
    assert count == 2


async def test_rolled_back_batches_leave_nothing(engine: AsyncEngine) -> None:
    uid = next(_uids)
    async with engine.connect() as conn:
        await qd.add_consume_logs(conn, [consume(uid, T0)])
        await conn.rollback()
    assert await buckets_of(engine, uid) == []


async def test_dashboard_queries(engine: AsyncEngine) -> None:
    a, b = next(_uids), next(_uids)
    async with engine.begin() as conn:
        await qd.add_consume_logs(
            conn,
            [
                consume(a, T0 + 10, model_name="mx", token_id=7, channel_id=3),
                consume(a, T0 + 20, model_name="mx", token_id=8, channel_id=4, group="vip"),
                consume(b, T0 + 30, model_name="mx", quota=100),
                consume(b, T0 + HOUR, model_name="my"),
                consume(b, T0 + 5 * HOUR, model_name="my"),  # outside the range
            ],
        )
        start, end = T0, T0 + HOUR
        by_model = [
            (r["model_name"], r["created_at"], r["count"], r["quota"])
            for r in await qd.by_model(conn, start, end)
            if r["model_name"] in ("mx", "my")
        ]
        assert by_model == [("mx", T0, 3, 120), ("my", T0 + HOUR, 1, 10)]
        mine = await qd.by_user_model(conn, start, end, user_id=a)
        assert [(r["user_id"], r["model_name"], r["count"]) for r in mine] == [(a, "mx", 2)]
        assert set(mine[0]) == {
            "id", "user_id", "username", "model_name", "created_at", "use_group", "token_id",
            "channel_id", "node_name", "token_used", "count", "quota",
        }  # fmt: skip
        named = await qd.by_user_model(conn, start, end, username=f"user{b}")
        assert [(r["model_name"], r["quota"]) for r in named] == [("mx", 100), ("my", 10)]
        users = {
            (r["username"], r["created_at"]): r["quota"]
            for r in await qd.by_username(conn, start, end)
        }
        assert users[(f"user{a}", T0)] == 20 and users[(f"user{b}", T0 + HOUR)] == 10
        flow = await qd.flow(conn, start, end, qd.FLOW_SELF, user_id=a)
        assert [(r["token_id"], r["use_group"], r["quota"]) for r in flow] == [
            (7, "default", 10),
            (8, "vip", 10),
        ]
        root_flow = await qd.flow(conn, start, end, qd.FLOW_ROOT, username=f"user{b}")
        assert root_flow[0]["quota"] == 100 and root_flow[0]["node_name"] == "node-a"


async def test_token_names_skip_deleted_tokens(engine: AsyncEngine) -> None:
    keyring = Keyring("quota-data-test")
    async with engine.begin() as conn:
        uid = await create_user(conn, f"qd{next(_uids)}", "password123")
        tid, _ = await create_token(conn, keyring, uid, name="mine")
        assert await qd.token_names(conn, [tid, 0, 10**8]) == {tid: "mine"}
        assert await qd.token_names(conn, []) == {}


async def test_direct_duplicate_bucket_rows_are_refused(engine: AsyncEngine) -> None:
    uid = next(_uids)
    values = {k: v for k, v in zip(qd.BUCKET, (uid, T0, "u", "m", "", 0, 0, ""), strict=True)}
    async with engine.begin() as conn:
        await conn.execute(insert(quota_data).values(**values, count=1))
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(quota_data).values(**values, count=1))
