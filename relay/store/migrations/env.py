"""Alembic environment: runs migrations over relay's async engine (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from relay.store.engine import is_sqlite, make_engine
from relay.store.schema import metadata

# Several nodes may start at once against one PostgreSQL: one migrates, the others wait.
_PG_MIGRATION_LOCK = 7_270_001


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=is_sqlite(str(connection.engine.url)),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                await conn.execute(text(f"SELECT pg_advisory_lock({_PG_MIGRATION_LOCK})"))
                await conn.commit()
            try:
                await conn.run_sync(_run)
                await conn.commit()
            finally:
                if postgres:
                    await conn.execute(text(f"SELECT pg_advisory_unlock({_PG_MIGRATION_LOCK})"))
                    await conn.commit()
    finally:
        await engine.dispose()


asyncio.run(_run_async(context.config.attributes["url"]))
