"""relay.store.options: option rows are upserted and read back."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from relay.options import Options
from relay.store.options import all_options, delete_options, set_option


async def test_set_option_inserts_then_replaces(engine: AsyncEngine) -> None:
    key = f"Test{uuid.uuid4().hex[:8]}"
    async with engine.begin() as conn:
        await set_option(conn, key, "1")
    async with engine.begin() as conn:
        await set_option(conn, key, "two")
        await set_option(conn, key, "three")
    async with engine.connect() as conn:
        rows = await all_options(conn)
    assert rows[key] == "three"


async def test_set_option_keeps_other_rows_and_long_values(engine: AsyncEngine) -> None:
    a, b = f"A{uuid.uuid4().hex[:8]}", f"B{uuid.uuid4().hex[:8]}"
    big = '{"m": 1.5}' * 10_000
    async with engine.begin() as conn:
        await set_option(conn, a, "")
        await set_option(conn, b, big)
    async with engine.connect() as conn:
        rows = await all_options(conn)
    assert rows[a] == "" and rows[b] == big


async def test_stored_rows_feed_options(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await set_option(conn, "RetryTimes", "2")
        await set_option(conn, "RetryTimes", "4")
    async with engine.connect() as conn:
        options = Options.from_rows(await all_options(conn))
    assert options["RetryTimes"] == 4


async def test_delete_options_returns_what_it_removed(engine: AsyncEngine) -> None:
    a, b = f"D{uuid.uuid4().hex[:8]}", f"E{uuid.uuid4().hex[:8]}"
    async with engine.begin() as conn:
        await set_option(conn, a, "1")
        await set_option(conn, b, "2")
    async with engine.begin() as conn:
        removed = await delete_options(conn, [a, "NeverStored"])
    async with engine.connect() as conn:
        rows = await all_options(conn)
    assert removed == {a: "1"}
    assert a not in rows and rows[b] == "2"
    async with engine.begin() as conn:
        assert await delete_options(conn, [a]) == {}
