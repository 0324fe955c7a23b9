"""A migrated database per test module: SQLite always, PostgreSQL when TEST_PG_DSN is set."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from backing_stores import migrated_engine, sql_params
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.crypto import Keyring


@pytest.fixture(scope="module", params=sql_params())
def sql_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
async def engine(
    sql_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    async with migrated_engine(sql_kind, tmp_path_factory.mktemp("db")) as engine:
        yield engine


@pytest.fixture(scope="module")
def keyring() -> Keyring:
    return Keyring("store-test-secret")
