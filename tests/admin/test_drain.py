"""relay.admin.drain: ledger and usage-log streams into SQL, exactly once, across crashes."""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

import msgpack
import pytest
from redis.exceptions import ResponseError
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.dialects.sqlite.aiosqlite import dialect as aiosqlite_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.admin.drain import CONSUMER, GROUP, StreamDrainer, apply_logs, log_insert_sql
from relay.crypto import Keyring
from relay.quota import keys
from relay.quota.service import NO_LIMITS, QuotaService
from relay.store.channels import create_channel
from relay.store.schema import channels, logs, quota_data, stream_cursors, tokens, users
from relay.store.tokens import BalanceRow, balance_row, create_token
from relay.store.users import create_user

KEYRING = Keyring("drain-test-secret")
_names = itertools.count(1)


class Account:
    def __init__(self, uid: int, tid: int, cids: list[int]) -> None:
        self.uid, self.tid, self.cids = uid, tid, cids


async def account(engine: AsyncEngine, quota: int = 10_000, remain: int = 5_000) -> Account:
    n = next(_names)
    async with engine.begin() as conn:
        uid = await create_user(conn, f"drain{n}", "password123", quota=quota)
        tid, _ = await create_token(conn, KEYRING, uid, remain_quota=remain)
        cids = [
            await create_channel(conn, KEYRING, name=f"c{n}-{i}", key="k", models=["m"])
            for i in range(2)
        ]
    return Account(uid, tid, cids)


class CrashBeforeAck:
    """A Redis client of an admin process that dies after its SQL commit, before XACK."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def xack(self, *args: Any, **kwargs: Any) -> int:
        raise ConnectionError("admin process killed")


def quota_service(redis: Any, engine: AsyncEngine) -> QuotaService:
    async def loader(user_id: int, token_id: int) -> BalanceRow | None:
        async with engine.connect() as conn:
            return await balance_row(conn, user_id, token_id)

    return QuotaService(redis, 120, loader)


async def charge(
    quota: QuotaService, a: Account, cost: int, channel: int, record: dict[str, Any] | None = None
) -> None:
    hold = await quota.admit(f"r{next(_names)}", a.uid, a.tid, 50, NO_LIMITS)
    packed = msgpack.packb(record) if record is not None else b""
    await quota.settle(hold, cost, channel, 10, True, packed)


async def sql_state(engine: AsyncEngine, a: Account) -> dict[str, Any]:
    async with engine.connect() as conn:
        user = (
            await conn.execute(
                select(users.c.quota, users.c.used_quota, users.c.request_count).where(
                    users.c.id == a.uid
                )
            )
        ).one()
        token = (
            await conn.execute(
                select(tokens.c.remain_quota, tokens.c.used_quota).where(tokens.c.id == a.tid)
            )
        ).one()
        used = (
            await conn.execute(
                select(channels.c.id, channels.c.used_quota).where(channels.c.id.in_(a.cids))
            )
        ).all()
    return {"user": tuple(user), "token": tuple(token), "channels": dict(used)}  # type: ignore[arg-type]


async def stream_lengths(redis: Any, a: Account) -> tuple[int, int]:
    shard = keys.shard_of(a.uid)
    return await redis.xlen(keys.ledger_key(shard)), await redis.xlen(keys.logs_key(shard))


async def drain_all(redis: Any, engine: AsyncEngine) -> None:
    drainer = StreamDrainer(redis, engine)
    while await drainer.drain_once():
        pass


async def test_ledger_entries_become_exact_sql_balance_changes(
    state: tuple[Any, AsyncEngine],
) -> None:
    redis, engine = state
    quota = quota_service(redis, engine)
    a = await account(engine, quota=10_000, remain=5_000)
    costs = [(123, a.cids[0]), (7, a.cids[1]), (0, a.cids[0]), (1_000, a.cids[0])]
    for cost, channel in costs:
        await charge(quota, a, cost, channel)
    assert await stream_lengths(redis, a) == (4, 0)
    assert await StreamDrainer(redis, engine).drain_once() >= 4
    spent = 1_130
    assert await sql_state(engine, a) == {
        "user": (10_000 - spent, spent, 4),
        "token": (5_000 - spent, spent),
        "channels": {a.cids[0]: 1_123, a.cids[1]: 7},
    }
    # SQL now agrees with the live Redis balances.
    assert await quota.balances(a.uid, a.tid) == (10_000 - spent, spent, 5_000 - spent, spent)
    assert await stream_lengths(redis, a) == (0, 0)  # trimmed after ack
    ledger = keys.ledger_key(keys.shard_of(a.uid))
    async with engine.connect() as conn:
        cursor = await conn.scalar(
            select(stream_cursors.c.last_id).where(stream_cursors.c.stream == ledger)
        )
    assert cursor and "-" in cursor


async def test_usage_records_become_log_rows(state: tuple[Any, AsyncEngine]) -> None:
    redis, engine = state
    quota = quota_service(redis, engine)
    a = await account(engine)
    record = {
        "user_id": a.uid,
        "created_at": 1_700_000_000,
        "type": 2,
        "content": "",
        "username": "someone",
        "token_name": "default",
        "model_name": "gpt-4o-mini",
        "quota": 42,
        "prompt_tokens": 57,
        "completion_tokens": 34,
        "use_time": 1,
        "is_stream": True,
        "channel_id": a.cids[0],
        "token_id": a.tid,
        "group": "default",
        "ip": "",
        "request_id": f"rid-{a.uid}",
        "upstream_request_id": "up-1",
        "other": '{"model_ratio":0.075}',
        "not_a_column": "ignored",
    }
    await charge(quota, a, 42, a.cids[0], record)
    await charge(quota, a, 1, a.cids[0])  # no record: no log row
    await drain_all(redis, engine)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(logs).where(logs.c.user_id == a.uid))).mappings().all()
    assert len(rows) == 1
    row = dict(rows[0])
    assert row.pop("id") > 0
    expected = {k: v for k, v in record.items() if k != "not_a_column"}
    assert row == expected
    assert await stream_lengths(redis, a) == (0, 0)


async def test_redelivery_after_a_crash_is_not_applied_twice(
    state: tuple[Any, AsyncEngine],
) -> None:
    redis, engine = state
    await drain_all(redis, engine)
    quota = quota_service(redis, engine)
    a = await account(engine, quota=10_000, remain=10_000)
    for cost in (100, 200, 300):
        await charge(quota, a, cost, a.cids[0])

    with pytest.raises(ConnectionError):
        await StreamDrainer(CrashBeforeAck(redis), engine).drain_once()
    after_crash = await sql_state(engine, a)
    assert after_crash["user"] == (10_000 - 600, 600, 3)
    ledger = keys.ledger_key(keys.shard_of(a.uid))
    pending = await redis.xpending(ledger, GROUP)
    assert pending["pending"] == 3
    assert await redis.xlen(ledger) == 3

    restarted = StreamDrainer(redis, engine)  # a new admin process
    assert await restarted.drain_once() >= 3
    assert await sql_state(engine, a) == after_crash
    assert (await redis.xpending(ledger, GROUP))["pending"] == 0
    assert await redis.xlen(ledger) == 0
    # Later entries are applied normally after the replay.
    await charge(quota, a, 50, a.cids[1])
    await restarted.drain_once()
    assert (await sql_state(engine, a))["user"] == (10_000 - 650, 650, 4)


async def test_entries_read_but_never_applied_are_applied_once(
    state: tuple[Any, AsyncEngine],
) -> None:
    redis, engine = state
    await drain_all(redis, engine)
    quota = quota_service(redis, engine)
    a = await account(engine, quota=1_000, remain=1_000)
    await charge(quota, a, 10, a.cids[0])
    await charge(quota, a, 20, a.cids[0])
    ledger = keys.ledger_key(keys.shard_of(a.uid))
    # A drainer read them (they are now pending) and died before its transaction committed.
    with contextlib.suppress(ResponseError):  # BUSYGROUP: a drainer created it already
        await redis.xgroup_create(ledger, GROUP, id="0", mkstream=True)
    reply = await redis.xreadgroup(GROUP, CONSUMER, {ledger: ">"}, count=100)
    assert len(reply[0][1]) == 2
    await drain_all(redis, engine)
    assert (await sql_state(engine, a))["user"] == (970, 30, 2)
    await drain_all(redis, engine)
    assert (await sql_state(engine, a))["user"] == (970, 30, 2)


async def test_a_shard_locked_by_another_admin_is_skipped(state: tuple[Any, AsyncEngine]) -> None:
    redis, engine = state
    await drain_all(redis, engine)
    quota = quota_service(redis, engine)
    a = await account(engine)
    await charge(quota, a, 5, a.cids[0])
    lock = keys.lock_key(keys.shard_of(a.uid), "drain")
    await redis.set(lock, "other-admin", px=30_000)
    assert await StreamDrainer(redis, engine).drain_once() == 0
    assert await redis.get(lock) == b"other-admin"  # not released by someone else
    assert await stream_lengths(redis, a) == (1, 0)
    await redis.delete(lock)
    assert await StreamDrainer(redis, engine).drain_once() == 1
    assert (await sql_state(engine, a))["user"] == (10_000 - 5, 5, 1)
    assert await redis.get(lock) is None


async def test_ledger_deltas_for_credits(state: tuple[Any, AsyncEngine]) -> None:
    redis, engine = state
    a = await account(engine, quota=100, remain=100)
    ledger = keys.ledger_key(keys.shard_of(a.uid))
    fields = {"u": a.uid, "t": a.tid, "c": 0, "q": 0, "du": 500, "dt": 200, "rc": 0}
    await redis.xadd(ledger, fields)
    await drain_all(redis, engine)
    assert await sql_state(engine, a) == {
        "user": (600, 0, 0),
        "token": (300, 0),
        "channels": {a.cids[0]: 0, a.cids[1]: 0},
    }


async def test_empty_streams_move_nothing(state: tuple[Any, AsyncEngine]) -> None:
    redis, engine = state
    await drain_all(redis, engine)
    assert await StreamDrainer(redis, engine).drain_once() == 0


async def test_consume_logs_fill_quota_data_once_across_a_crash(
    state: tuple[Any, AsyncEngine],
) -> None:
    redis, engine = state
    await drain_all(redis, engine)
    quota = quota_service(redis, engine)
    a = await account(engine)
    hour = 1_700_000_000 - 1_700_000_000 % 3600
    for i, cost in enumerate((5, 6, 7)):
        record = {
            "user_id": a.uid, "created_at": hour + i, "type": 2, "username": "qd",
            "model_name": "m", "quota": cost, "prompt_tokens": 2, "completion_tokens": 1,
            "channel_id": a.cids[0], "token_id": a.tid, "group": "g", "node_name": "n1",
        }  # fmt: skip
        await charge(quota, a, cost, a.cids[0], record)
    await charge(quota, a, 1, a.cids[0], {**record, "type": 5})  # an error log: no usage

    with pytest.raises(ConnectionError):
        await StreamDrainer(CrashBeforeAck(redis), engine).drain_once()
    await drain_all(redis, engine)  # the restarted admin replays the unacked entries
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(
                    quota_data.c.created_at,
                    quota_data.c.node_name,
                    quota_data.c.count,
                    quota_data.c.quota,
                    quota_data.c.token_used,
                ).where(quota_data.c.user_id == a.uid)
            )
        ).all()
        log_count = await conn.scalar(
            select(func.count()).select_from(logs).where(logs.c.user_id == a.uid)
        )
    assert [tuple(r) for r in rows] == [(hour, "n1", 3, 18, 9)]
    assert log_count == 4


@pytest.mark.parametrize("dialect", [aiosqlite_dialect(), asyncpg_dialect()], ids=lambda d: d.name)
def test_the_log_insert_takes_every_column_in_table_order(dialect: Dialect) -> None:
    sql = log_insert_sql(dialect)
    named = sql.split("(", 1)[1].split(")", 1)[0].replace('"', "").split(", ")
    assert named == [c.name for c in logs.columns if c.name != "id"]
    assert "RETURNING" not in sql


async def test_fields_a_record_lacks_get_the_column_defaults(
    state: tuple[Any, AsyncEngine],
) -> None:
    _, engine = state
    columns = [c for c in logs.columns if c.name != "id"]
    full = {c.name: c.name if c.type.python_type is str else 7 for c in columns}
    full.update(user_id=990_001, is_stream=True, type=5)  # type 5: not a consume log
    sparse = {"user_id": 990_001, "model_name": "m", "quota": 3, "node_name": "n"}
    entries = [(b"1-%d" % i, {b"r": msgpack.packb(r)}) for i, r in enumerate((full, sparse))]
    async with engine.begin() as conn:
        await apply_logs(conn, entries)
    async with engine.connect() as conn:
        query = select(logs).where(logs.c.user_id == 990_001).order_by(logs.c.id)
        rows = [dict(r) for r in (await conn.execute(query)).mappings()]
    for row in rows:
        del row["id"]
    assert rows[0] == full
    defaults = {c.name: c.type.python_type() for c in columns}  # bool() is False
    assert rows[1] == {**defaults, "user_id": 990_001, "model_name": "m", "quota": 3}
