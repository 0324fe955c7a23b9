"""Queries on `options` (key/value rows)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from relay.store.schema import options


async def all_options(conn: AsyncConnection) -> dict[str, str]:
    rows = await conn.execute(select(options.c.key, options.c.value))
    return {key: value for key, value in rows}


async def set_option(conn: AsyncConnection, key: str, value: str) -> None:
    """Insert or replace one option row."""
    dialect = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = dialect(options).values(key=key, value=value)
    await conn.execute(
        stmt.on_conflict_do_update(index_elements=[options.c.key], set_={"value": value})
    )


async def delete_options(conn: AsyncConnection, keys: Sequence[str]) -> dict[str, str]:
    """Delete these option rows (their defaults apply again); returns the deleted values."""
    rows = await conn.execute(select(options.c.key, options.c.value).where(options.c.key.in_(keys)))
    removed = {key: value for key, value in rows}
    if removed:
        await conn.execute(delete(options).where(options.c.key.in_(list(removed))))
    return removed
