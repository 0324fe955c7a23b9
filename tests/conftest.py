"""Shared fixtures: the mock upstream and real relay servers on each configured backend."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from hypothesis import settings
from relay_harness import Backend, MockUpstream, RelayServer, Store, pg_database

# Property tests explore new examples on every developer run; CI (HYPOTHESIS_PROFILE=ci) replays
# one fixed sequence so a landing never depends on the draw, and prints the failing example.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def backend_params() -> list[object]:
    """The embedded defaults always; PostgreSQL + Redis when CI provides them."""
    params: list[object] = [pytest.param("embedded", id="embedded")]
    if os.environ.get("TEST_PG_DSN") and os.environ.get("TEST_REDIS_URL"):
        params.append(pytest.param("pg", id="pg"))
    return params


@pytest.fixture(scope="session")
def upstream() -> Iterator[MockUpstream]:
    mock = MockUpstream()
    yield mock
    mock.stop()


@pytest.fixture(scope="module", params=backend_params())
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "embedded":
        yield Backend("embedded")
        return
    redis_url = os.environ["TEST_REDIS_URL"]
    redis.Redis.from_url(redis_url).flushdb()
    with pg_database(os.environ["TEST_PG_DSN"]) as dsn:
        yield Backend("pg", sql_dsn=dsn, redis_url=redis_url)


def new_server(backend: Backend, tmp: Path, **kwargs: object) -> RelayServer:
    return RelayServer(backend=backend, data_dir=tmp / "data", **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
async def relay(
    backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RelayServer]:
    """A `relay serve` with 2 workers shared by the tests of one module."""
    server = new_server(backend, tmp_path_factory.mktemp("relay"))
    await server.start()
    yield server
    code = server.stop()
    assert code == 0, server.log()
    assert "Traceback" not in server.log(), server.log()


@pytest.fixture(scope="module")
async def store(relay: RelayServer) -> AsyncIterator[Store]:
    s = Store(relay)
    yield s
    await s.close()
