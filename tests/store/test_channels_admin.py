"""relay.store.channels: the admin API's queries (listing filters, tags, search, status)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.crypto import Keyring
from relay.store import channels as store
from relay.store.schema import abilities

_n = itertools.count(1)


async def make(engine: AsyncEngine, keyring: Keyring, group: str, **extra: Any) -> int:
    async with engine.begin() as conn:
        return await store.create_channel(
            conn,
            keyring,
            name=extra.pop("name", f"chan{next(_n)}"),
            key="sk-x",
            models=extra.pop("models", ["m1", "m2"]),
            groups=[group, "other_g"],
            **extra,
        )


def test_split_keys_and_parse_info() -> None:
    assert store.split_keys("\na\n b \n\nc\n") == ["a", "b", "", "c"]
    assert store.split_keys("") == []
    info = store.parse_info('{"is_multi_key": true, "multi_key_status_list": [1], "x": 2}')
    assert info["is_multi_key"] is True and info["multi_key_status_list"] == {}
    assert info["multi_key_mode"] == "random" and info["x"] == 2
    assert store.parse_info("not json")["is_multi_key"] is False
    assert store.parse_object("[1]") == {} and store.parse_object('{"a": 1}') == {"a": 1}


async def test_listing_filters_order_and_type_counts(engine: AsyncEngine, keyring: Keyring) -> None:
    group = f"g_{uuid.uuid4().hex[:6]}%"  # a LIKE wildcard in the name must match literally
    a = await make(engine, keyring, group, priority=1, name="b-name")
    b = await make(engine, keyring, group, priority=5, type=43, name="a-name")
    c = await make(engine, keyring, group, status=3, name="c-name")
    await make(engine, keyring, group.replace("%", "x"))
    async with engine.connect() as conn:

        async def ids(**kw: Any) -> tuple[list[int], int]:
            args = {"group": group, "status": -1, "type_": -1, "order": ("", "", False)}
            rows, total = await store.list_channels(conn, offset=0, limit=10, **{**args, **kw})
            assert all("key" not in r for r in rows)
            return [r["id"] for r in rows], total

        assert await ids() == ([b, a, c], 3)
        assert await ids(order=("", "", True)) == ([c, b, a], 3)
        assert await ids(order=("name", "asc", False)) == ([b, a, c], 3)
        assert await ids(status=1) == ([b, a], 2)
        assert await ids(status=0) == ([c], 1)
        assert await ids(type_=43) == ([b], 1)
        assert await store.type_counts(conn, group=group, status=-1) == {1: 2, 43: 1}
        rows, total = await store.list_channels(
            conn, group=group, status=-1, type_=-1, order=("", "", False), offset=1, limit=1
        )
        assert [r["id"] for r in rows] == [a] and total == 3


async def test_tag_pages_and_search(engine: AsyncEngine, keyring: Keyring) -> None:
    group = f"g_{uuid.uuid4().hex[:6]}"
    t1 = await make(engine, keyring, group, tag=f"{group}-a")
    t2 = await make(engine, keyring, group, tag=f"{group}-a", name=f"{group}-special")
    t3 = await make(engine, keyring, group, tag=f"{group}-b", models=["odd-model"])
    await make(engine, keyring, group)  # untagged: not listed in tag mode
    async with engine.connect() as conn:
        rows, total = await store.list_tag_channels(
            conn, group=group, status=-1, type_=-1, order=("", "", True), offset=0, limit=1
        )
        assert total == 2 and [r["id"] for r in rows] == [t2, t1]
        found = await store.search_channels(
            conn, keyword="special", group=group, model="", order=("", "", False)
        )
        assert [r["id"] for r in found] == [t2]
        found = await store.search_channels(
            conn, keyword="", group=group, model="odd", order=("", "", False)
        )
        assert [r["id"] for r in found] == [t3]
        found = await store.search_channels(
            conn, keyword=str(t3), group="", model="", order=("", "", False)
        )
        assert t3 in [r["id"] for r in found]
        assert await store.ids_with_tag(conn, f"{group}-a") == sorted([t1, t2])


async def test_status_updates_deletes_and_fix(engine: AsyncEngine, keyring: Keyring) -> None:
    group = f"g_{uuid.uuid4().hex[:6]}"
    one = await make(engine, keyring, group)
    two = await make(engine, keyring, group)
    async with engine.begin() as conn:
        assert await store.set_channel_status(conn, one, 3, "too many errors")
        assert not await store.set_channel_status(conn, one, 3, "again")
        assert not await store.set_channel_status(conn, 10**8, 1, "missing")
        row = await store.get_channel(conn, one)
        assert row is not None and row["status"] == 3
        assert orjson.loads(row["other_info"])["status_reason"] == "too many errors"
        enabled = await conn.scalar(
            select(abilities.c.enabled).where(abilities.c.channel_id == one).limit(1)
        )
        assert enabled is False or enabled == 0
        assert one in await store.disabled_channel_ids(conn)
        await store.update_channels(conn, [one, two], {"priority": 9, "tag": "x"})
        assert {r["priority"] for r in await store.channels_by_ids(conn, [one, two])} == {9}
        await store.record_test(conn, two, 123)
        await store.record_balance(conn, two, 4.5)
        row = await store.get_channel(conn, two)
        assert row is not None and row["response_time"] == 123 and row["balance"] == 4.5
        await conn.execute(delete(abilities).where(abilities.c.channel_id == two))
        assert await store.rebuild_all_abilities(conn) >= 2
        assert "m1" in await store.enabled_models(conn)
        assert "m2" in await store.channel_models(conn)
        rebuilt = await conn.scalar(
            select(abilities.c.priority).where(abilities.c.channel_id == two).limit(1)
        )
        assert rebuilt == 9
        assert await store.delete_channels(conn, [one, two, 10**8]) == 2
        assert await store.get_channel(conn, one) is None
        assert await store.delete_channels(conn, []) == 0
