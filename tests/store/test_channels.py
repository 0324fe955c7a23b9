"""relay.store.channels: sealed channel keys and the abilities routing index."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.crypto import Keyring
from relay.store.channels import (
    all_channels,
    create_channel,
    enabled_abilities,
    rebuild_abilities,
    split_list,
)
from relay.store.schema import abilities, channels

_n = itertools.count(1)


def test_split_list() -> None:
    assert split_list("a, b,,c ,a, ") == ["a", "b", "c"]
    assert split_list("") == []
    assert split_list(" , ") == []
    assert split_list("gpt-4o") == ["gpt-4o"]


async def ability_rows(engine: AsyncEngine, cid: int) -> set[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(
                abilities.c.group,
                abilities.c.model,
                abilities.c.enabled,
                abilities.c.priority,
                abilities.c.weight,
                abilities.c.tag,
            ).where(abilities.c.channel_id == cid)
        )
        return {tuple(r) for r in rows}


async def test_create_channel_seals_the_key_and_builds_abilities(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    m = f"model{next(_n)}"
    async with engine.begin() as conn:
        cid = await create_channel(
            conn,
            keyring,
            name="upstream",
            key="sk-upstream-secret",
            models=[f"{m}-a", f"{m}-b", f"{m}-a"],
            groups=["default", "vip"],
            priority=5,
            weight=30,
            base_url="http://mock",
            tag="t1",
            model_mapping='{"x":"y"}',
        )
        row = (await conn.execute(select(channels).where(channels.c.id == cid))).mappings().one()
    assert row["key"] != "sk-upstream-secret" and keyring.open(row["key"]) == "sk-upstream-secret"
    assert (row["name"], row["type"], row["status"], row["base_url"]) == (
        "upstream",
        1,
        1,
        "http://mock",
    )
    assert row["models"] == f"{m}-a,{m}-b,{m}-a" and row["group"] == "default,vip"
    assert (row["priority"], row["weight"], row["tag"], row["model_mapping"]) == (
        5,
        30,
        "t1",
        '{"x":"y"}',
    )
    assert row["created_time"] > 1_600_000_000
    assert await ability_rows(engine, cid) == {
        (g, f"{m}-{x}", True, 5, 30, "t1") for g in ("default", "vip") for x in ("a", "b")
    }


async def test_disabled_channel_abilities_are_disabled(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    m = f"model{next(_n)}"
    async with engine.begin() as conn:
        off = await create_channel(conn, keyring, name="off", key="k", models=[m], status=2)
        on = await create_channel(conn, keyring, name="on", key="k", models=[m])
    assert await ability_rows(engine, off) == {("default", m, False, 0, 0, None)}
    async with engine.connect() as conn:
        enabled = await enabled_abilities(conn)
    assert ("default", m, on) in enabled
    assert ("default", m, off) not in enabled


async def test_rebuild_follows_status_models_and_groups(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    m = f"model{next(_n)}"
    async with engine.begin() as conn:
        cid = await create_channel(conn, keyring, name="c", key="k", models=[m])
        await conn.execute(
            update(channels)
            .where(channels.c.id == cid)
            .values(status=3, models=f"{m},{m}-new", group="g1, g2", priority=2)
        )
        await rebuild_abilities(conn, cid)
    assert await ability_rows(engine, cid) == {
        (g, model, False, 2, 0, None) for g in ("g1", "g2") for model in (m, f"{m}-new")
    }
    async with engine.begin() as conn:
        await conn.execute(update(channels).where(channels.c.id == cid).values(status=1))
        await rebuild_abilities(conn, cid)
    assert {r[2] for r in await ability_rows(engine, cid)} == {True}


async def test_rebuild_of_a_deleted_channel_removes_its_abilities(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    async with engine.begin() as conn:
        cid = await create_channel(conn, keyring, name="gone", key="k", models=["m"])
        await conn.execute(channels.delete().where(channels.c.id == cid))
        await rebuild_abilities(conn, cid)
    assert await ability_rows(engine, cid) == set()


async def test_channel_without_models_or_groups_has_no_abilities(
    engine: AsyncEngine, keyring: Keyring
) -> None:
    async with engine.begin() as conn:
        a = await create_channel(conn, keyring, name="a", key="k", models=[])
        b = await create_channel(conn, keyring, name="b", key="k", models=["m"], groups=[])
    assert await ability_rows(engine, a) == set()
    assert await ability_rows(engine, b) == set()


async def test_all_channels(engine: AsyncEngine, keyring: Keyring) -> None:
    async with engine.begin() as conn:
        cid = await create_channel(conn, keyring, name="listed", key="k", models=["m"], type=43)
    async with engine.connect() as conn:
        rows = {r["id"]: r for r in await all_channels(conn)}
    assert rows[cid]["type"] == 43 and rows[cid]["name"] == "listed"
