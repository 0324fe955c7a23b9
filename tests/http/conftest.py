"""Every relay.http socket test runs twice: on the session's asyncio loop and on uvloop (the
production loop), the latter on a fresh loop in a worker thread."""

from __future__ import annotations

import pytest
from http_kit import Body, Run, run_on


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Run:
    kind: str = request.param

    async def runner(body: Body) -> None:
        await run_on(kind, body)

    return runner
