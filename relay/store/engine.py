"""Create the async SQLAlchemy engine for SQLite (default) or PostgreSQL (asyncpg)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from relay.settings import Settings


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL for SQL_DSN, or the SQLite file in DATA_DIR when it is unset."""
    dsn = settings.sql_dsn
    if not dsn:
        return f"sqlite+aiosqlite:///{settings.sqlite_path}"
    for prefix in ("postgres://", "postgresql://"):
        if dsn.startswith(prefix):
            return "postgresql+asyncpg://" + dsn[len(prefix) :]
    if dsn.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + dsn[len("sqlite://") :]
    return dsn


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the workers read while the admin process writes; the busy timeout turns
    # writer contention into a short wait instead of "database is locked".
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=OFF")
    cur.close()


def make_engine(url: str, *, pool_size: int = 5) -> AsyncEngine:
    """An engine with sane pooling; SQLite gets WAL and a busy timeout on every connection."""
    if is_sqlite(url):
        engine = create_async_engine(url, pool_pre_ping=False)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True
    )
