"""A real Redis (embedded, and TEST_REDIS_URL's db 14 when set) for the metrics tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from backing_stores import redis_client, redis_params


@pytest.fixture(scope="module", params=redis_params())
async def redis(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Any]:
    async with redis_client(request.param, tmp_path_factory.mktemp("redis")) as client:
        yield client
