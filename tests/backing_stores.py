"""Real Redis and SQL databases for unit tests of relay's state modules (no `relay serve`).

Redis: an embedded server (relay.embedded_redis) in a temp dir, plus TEST_REDIS_URL (db 14,
flushed) when it is set. SQL: a migrated SQLite file, plus a throw-away PostgreSQL database
when TEST_PG_DSN is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from relay_harness import pg_database, redis_db_url
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.embedded_redis import EmbeddedRedis
from relay.redis_client import connect_redis
from relay.settings import Settings
from relay.store.engine import make_engine
from relay.store.migrate import run_migrations

REDIS_TEST_DB = 14


def redis_params() -> list[Any]:
    params: list[Any] = [pytest.param("embedded", id="redis-embedded")]
    if os.environ.get("TEST_REDIS_URL"):
        params.append(pytest.param("external", id="redis-external"))
    return params


def sql_params() -> list[Any]:
    params: list[Any] = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get("TEST_PG_DSN"):
        params.append(pytest.param("pg", id="pg"))
    return params


def paired_params() -> list[Any]:
    """(redis kind, sql kind) pairs: embedded Redis + SQLite always; TEST_REDIS_URL +
    PostgreSQL when both TEST_REDIS_URL and TEST_PG_DSN are set."""
    params: list[Any] = [pytest.param(("embedded", "sqlite"), id="embedded-sqlite")]
    if os.environ.get("TEST_REDIS_URL") and os.environ.get("TEST_PG_DSN"):
        params.append(pytest.param(("external", "pg"), id="redis-pg"))
    return params


def _external_redis_url() -> str:
    return redis_db_url(os.environ["TEST_REDIS_URL"], REDIS_TEST_DB)


@contextlib.contextmanager
def redis_server(kind: str, tmp: Path) -> Iterator[str]:
    """The URL of an empty Redis: a private embedded server, or TEST_REDIS_URL's db 14."""
    if kind == "embedded":
        server = EmbeddedRedis(tmp)
        server.start()
        try:
            yield f"unix://{server.socket_path}"
        finally:
            server.stop()
        return
    url = _external_redis_url()
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    try:
        yield url
    finally:
        with redis.Redis.from_url(url) as client:
            client.flushdb()


@contextlib.asynccontextmanager
async def redis_client(kind: str, tmp: Path) -> AsyncIterator[Any]:
    """A client made the way relay's processes make theirs (same pool size)."""
    with redis_server(kind, tmp) as url:
        client = await connect_redis(Settings(redis_url=url))
        try:
            yield client
        finally:
            await client.aclose()


@contextlib.contextmanager
def sql_url(kind: str, tmp: Path) -> Iterator[str]:
    """A SQLAlchemy URL of an empty database (not yet migrated)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'relay.db'}"
        return
    with pg_database(os.environ["TEST_PG_DSN"]) as dsn:
        yield "postgresql+asyncpg://" + dsn.split("://", 1)[1]


@contextlib.asynccontextmanager
async def migrated_engine(kind: str, tmp: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh database migrated to head with relay's own migrations."""
    with sql_url(kind, tmp) as url:
        # run_migrations runs its own event loop, so it must not run on this one.
        await asyncio.to_thread(run_migrations, url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()
