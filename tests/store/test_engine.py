"""relay.store.engine: database URLs from SQL_DSN and SQLite connection settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from relay.settings import Settings
from relay.store.engine import database_url, is_sqlite, make_engine


@pytest.mark.parametrize(
    ("dsn", "url"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgresql://u@h/db?sslmode=disable", "postgresql+asyncpg://u@h/db?sslmode=disable"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:////srv/relay.db", "sqlite+aiosqlite:////srv/relay.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_url(dsn: str, url: str) -> None:
    assert database_url(Settings(sql_dsn=dsn)) == url


def test_default_is_sqlite_in_data_dir(tmp_path: Path) -> None:
    url = database_url(Settings(data_dir=tmp_path))
    assert url == f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}"
    assert is_sqlite(url) and not is_sqlite("postgresql+asyncpg://h/db")


async def test_sqlite_connections_use_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await conn.scalar(text("PRAGMA busy_timeout")) == 30000
            assert await conn.scalar(text("PRAGMA foreign_keys")) == 0
    finally:
        await engine.dispose()
