"""End to end: `relay serve` as a process tree — crashes, SIGTERM drain, SIGHUP roll, start-up.

Every test starts its own server (they kill processes), on each configured backend.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import openai
import pytest
from sqlalchemy import text

from conftest import new_server
from relay_harness import CRYPTO_SECRET, Backend, MockUpstream, RelayServer, Store, pg_database

pytestmark = pytest.mark.integration

StartServer = Callable[..., Awaitable[tuple[RelayServer, Store]]]
FUNDS = 100_000_000


def client(server: RelayServer, api_key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.base_url, api_key=api_key, max_retries=0)


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> float:
    """Poll `check` until it is true; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if await check():
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout} s")


async def answers(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as http, http.get(
            url, timeout=aiohttp.ClientTimeout(total=1)
        ) as resp:
            return resp.status == 200
    except (aiohttp.ClientError, OSError, TimeoutError):
        return False


@pytest.fixture
async def start_server(
    backend: Backend, tmp_path: Path
) -> AsyncIterator[StartServer]:
    """Start private servers; each is stopped (and must exit 0 without a traceback) at the end."""
    started: list[RelayServer] = []
    async with AsyncExitStack() as stack:

        async def start(**kwargs: object) -> tuple[RelayServer, Store]:
            server = new_server(backend, tmp_path / f"s{len(started)}", **kwargs)
            started.append(server)
            await server.start()
            store = Store(server)
            stack.push_async_callback(store.close)
            return server, store

        yield start
    for server in started:
        assert server.stop() == 0, server.log()
        assert "Traceback" not in server.log(), server.log()


async def test_killed_worker_is_replaced_and_its_hold_refunded(
    start_server: StartServer, upstream: MockUpstream
) -> None:
    server, store = await start_server(workers=1, extra_env={"RELAY_HOLD_LEASE_SECONDS": "5"})
    s = await store.scenario(upstream, channels=[{"key": "mock;chunk_delay=200;words=50"}])
    [victim] = server.worker_pids()
    async with client(server, s.api_key) as api:
        stream = await api.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        chunks = stream.__aiter__()
        for _ in range(3):
            await chunks.__anext__()
        during = await store.balances(s)
        assert during["user_held"] > 0 and during["token_held"] == during["user_held"]
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        with pytest.raises(Exception):  # noqa: B017 - the transport error type is the SDK's
            async for _ in chunks:
                pass

    async def replaced() -> bool:
        fresh = [p for p in server.worker_pids() if p != victim]
        return fresh != [] and await answers(f"{server.url}/healthz")

    waited = await wait_for(replaced, 1.0, "a new relay-worker answering /healthz")
    print(f"replaced after {time.monotonic() - killed_at:.3f} s (polled {waited:.3f} s)")
    assert victim not in server.worker_pids()

    async def refunded() -> bool:
        b = await store.balances(s)
        return b["user_held"] == 0 and b["token_held"] == 0

    await wait_for(refunded, 15.0, "the reaper's refund")
    assert await store.balances(s) == {
        "user": FUNDS, "user_held": 0, "token": FUNDS, "token_held": 0, "token_used": 0,
    }  # fmt: skip
