"""relay.store.migrate: the migrations build the whole schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from backing_stores import migrated_engine
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.store.migrate import MIGRATIONS_DIR, alembic_config, run_migrations
from relay.store.schema import metadata

NEW_API_TABLES = {
    "users",
    "tokens",
    "channels",
    "abilities",
    "logs",
    "options",
    "redemptions",
    "quota_data",
    "setups",
}


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_all_tables_are_created(engine: AsyncEngine) -> None:
    names = await table_names(engine)
    assert set(metadata.tables) <= names
    assert NEW_API_TABLES | {"relay_stream_cursors", "alembic_version"} <= names


async def test_the_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    def diff(sync_conn: Any) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(sync_conn), metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_columns_and_indexes(engine: AsyncEngine) -> None:
    def read(sync_conn: Any) -> dict[str, Any]:
        inspector = inspect(sync_conn)
        return {
            "tokens": {c["name"] for c in inspector.get_columns("tokens")},
            "logs_indexes": {i["name"] for i in inspector.get_indexes("logs")},
            "abilities_pk": inspector.get_pk_constraint("abilities")["constrained_columns"],
        }

    async with engine.connect() as conn:
        found = await conn.run_sync(read)
    assert {"key", "key_sealed", "remain_quota", "unlimited_quota", "rate_limit_tpm"} <= found[
        "tokens"
    ]
    assert {"idx_logs_created_id", "idx_logs_user_id", "idx_logs_request_id"} <= found[
        "logs_indexes"
    ]
    assert found["abilities_pk"] == ["group", "model", "channel_id"]


async def test_at_head_and_rerunning_is_a_no_op(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    heads = {p.stem.split("_", 1)[0] for p in (MIGRATIONS_DIR / "versions").glob("*.py")}
    assert version == max(heads)
    await asyncio.to_thread(run_migrations, str(engine.url.render_as_string(hide_password=False)))
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM alembic_version")) == 1


async def test_a_fresh_database_is_empty_but_complete(sql_kind: str, tmp_path: Path) -> None:
    async with migrated_engine(sql_kind, tmp_path) as fresh:
        assert set(metadata.tables) <= await table_names(fresh)
        async with fresh.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM users")) == 0


def test_alembic_config_points_at_the_packaged_migrations() -> None:
    cfg = alembic_config("sqlite+aiosqlite:///x.db")
    assert cfg.get_main_option("script_location") == str(MIGRATIONS_DIR)
    assert cfg.attributes["url"] == "sqlite+aiosqlite:///x.db"
    assert (MIGRATIONS_DIR / "env.py").is_file()
