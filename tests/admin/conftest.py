"""A Redis and a migrated SQL database per test module, on each backend pair (backing_stores)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from backing_stores import migrated_engine, paired_params, redis_client
from sqlalchemy.ext.asyncio import AsyncEngine


@pytest.fixture(scope="module", params=paired_params())
async def state(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Any, AsyncEngine]]:
    """(redis client, engine): empty, private to the test module."""
    redis_kind, sql_kind = request.param
    tmp = tmp_path_factory.mktemp("state")
    async with redis_client(redis_kind, tmp) as redis, migrated_engine(sql_kind, tmp) as engine:
        yield redis, engine
