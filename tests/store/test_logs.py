"""relay.store.logs: filters, newest-first pages, keyset paging, the cheap total, stat, deletion."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.store.logs import (
    LogFilter,
    LogFilterError,
    count_logs,
    delete_logs_before,
    list_logs,
    log_item,
    strip_admin_only,
    sum_stat,
)
from relay.store.schema import logs

NOW = 1_800_000_000
_uids = itertools.count(10_000)


def row(uid: int, created_at: int, **kw: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "user_id": uid,
        "created_at": created_at,
        "type": 2,
        "username": f"user{uid}",
        "token_name": "tok",
        "model_name": "gpt-4o-mini",
        "quota": 10,
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "channel_id": 1,
        "token_id": 1,
        "group": "default",
    }
    values.update(kw)
    return values


async def seed(engine: AsyncEngine, rows: list[dict[str, Any]]) -> None:
    async with engine.begin() as conn:
        for values in rows:  # one by one: the rows do not all set the same columns
            await conn.execute(insert(logs).values(**values))


async def page(engine: AsyncEngine, f: LogFilter, **kw: Any) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return await list_logs(conn, f, **kw)


async def test_each_filter_selects_its_rows(engine: AsyncEngine) -> None:
    uid = next(_uids)
    await seed(
        engine,
        [
            row(uid, NOW - 30, type=5, model_name="m-err"),
            row(uid, NOW - 20, token_name="tok-b", group="vip", channel_id=7, token_id=9),
            row(uid, NOW - 10, request_id="rq-1", upstream_request_id="up-1", model_name="m-x"),
            row(uid, NOW - 5, model_name="claude-3-haiku"),
        ],
    )

    async def models(**kw: Any) -> list[str]:
        rows = await page(engine, LogFilter(user_id=uid, **kw), limit=10)
        return [r["model_name"] for r in rows]

    assert await models() == ["claude-3-haiku", "m-x", "gpt-4o-mini", "m-err"]
    assert await models(type=5) == ["m-err"]
    assert await models(token_name="tok-b") == ["gpt-4o-mini"]
    assert await models(group="vip") == ["gpt-4o-mini"]
    assert await models(channel=7) == ["gpt-4o-mini"]
    assert await models(token_id=9) == ["gpt-4o-mini"]
    assert await models(request_id="rq-1") == ["m-x"]
    assert await models(upstream_request_id="up-1") == ["m-x"]
    assert await models(start=NOW - 20, end=NOW - 10) == ["m-x", "gpt-4o-mini"]
    assert await models(model_name="claude%") == ["claude-3-haiku"]
    assert await models(model_name="m_x") == []  # `_` is literal, not a wildcard
    assert await models(username=f"user{uid}", model_name="m-x") == ["m-x"]
    assert await models(username=f"%ser{uid}") == await models()


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("gpt%%", "consecutive"), ("%a%b%", "at most 2"), ("a%", "at least 2")],
)
async def test_malformed_wildcards_are_refused(
    engine: AsyncEngine, pattern: str, message: str
) -> None:
    with pytest.raises(LogFilterError, match=message):
        await page(engine, LogFilter(model_name=pattern), limit=1)


async def test_pages_are_newest_first_and_keyset_paging_continues(engine: AsyncEngine) -> None:
    uid = next(_uids)
    # created_at not in id order (a drain catching up), and ties on created_at
    times = [NOW - 5, NOW - 50, NOW - 5, NOW - 40, NOW - 1, NOW - 40, NOW - 30]
    await seed(engine, [row(uid, t, content=str(i)) for i, t in enumerate(times)])
    f = LogFilter(user_id=uid)
    everything = await page(engine, f, limit=100)
    order = [(r["created_at"], r["id"]) for r in everything]
    assert order == sorted(order, reverse=True) and len(order) == 7
    first = await page(engine, f, limit=3)
    second = await page(engine, f, limit=3, offset=3)
    assert first + second == everything[:6]
    by_key = await page(engine, f, limit=3, before_id=first[-1]["id"], offset=99)
    assert by_key == second  # offset is ignored with a cursor
    rest = await page(engine, f, limit=3, before_id=by_key[-1]["id"])
    assert rest == everything[6:]
    with pytest.raises(LogFilterError, match="no such log row"):
        await page(engine, f, limit=3, before_id=10**9)


async def test_total_is_exact_under_the_cap_and_flagged_above_it(engine: AsyncEngine) -> None:
    uid = next(_uids)
    await seed(engine, [row(uid, NOW - i) for i in range(12)])
    async with engine.connect() as conn:
        assert await count_logs(conn, LogFilter(user_id=uid), cap=20) == (12, True)
        assert await count_logs(conn, LogFilter(user_id=uid), cap=12) == (12, True)
        total, exact = await count_logs(conn, LogFilter(user_id=uid), cap=5)
        assert not exact and total >= 5
        if conn.dialect.name == "sqlite":
            assert total == 5
        everything, exact_all = await count_logs(conn, LogFilter(), cap=5)
        assert not exact_all and everything >= 12  # max(id) - min(id) + 1
        assert await count_logs(conn, LogFilter(user_id=-1)) == (0, True)


async def test_stat_sums_consume_logs_and_the_last_minute(engine: AsyncEngine) -> None:
    uid = next(_uids)
    await seed(
        engine,
        [
            row(uid, NOW - 3600, quota=100, prompt_tokens=1000, completion_tokens=0),
            row(uid, NOW - 30, quota=7, prompt_tokens=10, completion_tokens=5),
            row(uid, NOW - 10, quota=8, prompt_tokens=20, completion_tokens=6, model_name="o3"),
            row(uid, NOW - 10, quota=999, type=5),  # not consume: never counted
            row(uid, NOW + 10, quota=1),  # after `end` below, but in the last minute
        ],
    )
    async with engine.connect() as conn:
        everything = await sum_stat(conn, LogFilter(user_id=uid, type=5), now=NOW)
        assert everything == {"quota": 116, "rpm": 3, "tpm": 48}
        ranged = await sum_stat(conn, LogFilter(user_id=uid, start=NOW - 60, end=NOW), now=NOW)
        assert ranged == {"quota": 15, "rpm": 3, "tpm": 48}
        model = await sum_stat(conn, LogFilter(user_id=uid, model_name="o3"), now=NOW)
        assert model == {"quota": 8, "rpm": 1, "tpm": 26}
        nobody = await sum_stat(conn, LogFilter(user_id=-1), now=NOW)
        assert nobody == {"quota": 0, "rpm": 0, "tpm": 0}


async def test_delete_before_takes_only_old_rows_in_batches(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(logs))
    uid = next(_uids)
    await seed(engine, [row(uid, 1000 + i) for i in range(7)] + [row(uid, NOW)])
    async with engine.begin() as conn:
        assert await delete_logs_before(conn, 1005, limit=3) == 3
        assert await delete_logs_before(conn, 1005, limit=3) == 2
        assert await delete_logs_before(conn, 1005, limit=3) == 0
    remaining = await page(engine, LogFilter(user_id=uid), limit=10)
    assert sorted(r["created_at"] for r in remaining) == [1005, 1006, NOW]


def test_admin_only_keys_are_stripped_from_other() -> None:
    other = orjson.dumps({"model_ratio": 1, "admin_info": {"use_channel": ["3"]}, "audit_info": 1})
    assert orjson.loads(strip_admin_only(other.decode())) == {"model_ratio": 1}
    assert strip_admin_only("") == ""
    assert strip_admin_only("not json {admin_info}") == ""
    assert strip_admin_only("[1, 2]") == "[1, 2]"


def test_log_item_has_new_apis_shape() -> None:
    base = row(1, NOW) | {"id": 5, "content": "", "use_time": 2, "is_stream": 1, "ip": ""}
    item = log_item(base | {"request_id": "", "upstream_request_id": "", "other": ""}, "ch")
    assert item["channel"] == 1 and item["channel_name"] == "ch" and item["is_stream"] is True
    assert "request_id" not in item and "upstream_request_id" not in item  # omitempty
    full = log_item(base | {"request_id": "r", "upstream_request_id": "u", "other": "{}"})
    assert full["request_id"] == "r" and full["upstream_request_id"] == "u"
