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
from relay_harness import CRYPTO_SECRET, Backend, MockUpstream, RelayServer, Store, pg_database
from sqlalchemy import text

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
        async with (
            aiohttp.ClientSession() as http,
            http.get(url, timeout=aiohttp.ClientTimeout(total=1)) as resp,
        ):
            return resp.status == 200
    except (aiohttp.ClientError, OSError, TimeoutError):
        return False


@pytest.fixture
async def start_server(backend: Backend, tmp_path: Path) -> AsyncIterator[StartServer]:
    """Start private servers; each is stopped (and must exit 0 without a traceback) at the end."""
    started: list[RelayServer] = []
    async with AsyncExitStack() as stack:

        async def start(**kwargs: object) -> tuple[RelayServer, Store]:
            data_dir = tmp_path / f"s{len(started)}" / "data"
            server = RelayServer(backend, data_dir, **kwargs)  # type: ignore[arg-type]
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
        with pytest.raises(openai.APIConnectionError):
            async for _ in chunks:
                pass

    async def replaced() -> bool:
        fresh = [p for p in server.worker_pids() if p != victim]
        return fresh != [] and await answers(f"{server.url}/healthz")

    await wait_for(replaced, 1.0 - (time.monotonic() - killed_at), "a new worker answering")
    assert victim not in server.worker_pids()

    async def refunded() -> bool:
        b = await store.balances(s)
        return b["user_held"] == 0 and b["token_held"] == 0

    await wait_for(refunded, 15.0, "the reaper's refund")
    assert await store.balances(s) == {
        "user": FUNDS, "user_held": 0, "token": FUNDS, "token_held": 0, "token_used": 0,
    }  # fmt: skip


async def test_sigterm_drains_in_flight_streams_then_refuses(
    start_server: StartServer, upstream: MockUpstream
) -> None:
    server, store = await start_server()
    s = await store.scenario(upstream, channels=[{"key": "mock;tag=T;chunk_delay=200;words=15"}])
    async with client(server, s.api_key) as api:
        stream = await api.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        chunks = [await stream.__aiter__().__anext__()]
        server.signal(signal.SIGTERM)
        chunks += [c async for c in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("[T]") and len(text.split()) == 16
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert server.proc is not None
    assert await asyncio.to_thread(server.proc.wait, 30) == 0, server.log()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", server.port)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", server.admin_port)


async def test_sighup_rolls_workers_without_refusing_a_connection(
    start_server: StartServer, upstream: MockUpstream
) -> None:
    server, store = await start_server()
    s = await store.scenario(upstream, channels=[{"key": "mock"}])
    old = set(server.worker_pids())
    assert len(old) == 2
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {s.api_key}"}
    statuses: list[int] = []
    stop = asyncio.Event()

    async def load() -> None:
        # force_close: every request opens a new connection, so each one goes through accept().
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:
            while not stop.is_set():
                async with http.post(
                    f"{server.base_url}/chat/completions", json=body, headers=headers
                ) as resp:
                    await resp.read()
                    statuses.append(resp.status)

    loops = [asyncio.create_task(load()) for _ in range(4)]
    seen = set(old)
    try:
        for _ in range(2):  # two rolls: more chances to catch a connection in flight
            await asyncio.sleep(0.5)
            before = set(server.worker_pids())
            server.signal(signal.SIGHUP)

            async def rolled(before: set[int] = before) -> bool:
                now = set(server.worker_pids())
                return len(now) == 2 and not now & before

            await wait_for(rolled, 30.0, "the roll")
            seen |= before
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        results = await asyncio.gather(*loops, return_exceptions=True)
    assert [r for r in results if r is not None] == []
    assert len(statuses) > 20 and set(statuses) == {200}, statuses
    assert len(set(server.worker_pids()) - seen) == 2


async def test_dead_admin_process_is_restarted(start_server: StartServer) -> None:
    server, _ = await start_server(workers=1)
    [admin] = [p for p in server.child_pids() if comm(p) == "relay-admin"]
    os.kill(admin, signal.SIGKILL)

    async def back() -> bool:
        pids = [p for p in server.child_pids() if comm(p) == "relay-admin"]
        return pids != [] and admin not in pids and await answers(f"{server.admin_url}/api/status")

    await wait_for(back, 2.0, "a new admin process answering /api/status")


def serve_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQL_DSN", "REDIS_"))}
    env.update(
        DATA_DIR=str(data_dir), HOST="127.0.0.1", PORT="0", ADMIN_PORT="0", WORKERS="1",
        CRYPTO_SECRET=CRYPTO_SECRET, SESSION_SECRET="test-session-secret",
    )  # fmt: skip
    env.update(extra)
    return env


def run_serve(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relay", "serve"],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "abc"),
        ("WORKERS", "0"),
        ("STREAMING_TIMEOUT", "-1"),
        ("SQL_DSN", "mysql://x"),
        ("REDIS_CONN_STRING", "memcached://x"),
        ("RELAY_HOLD_LEASE_SECONDS", "1"),
        ("FORCE_STREAM_OPTION", "maybe"),
    ],
)
def test_bad_configuration_stops_start_up_with_one_line(
    name: str, value: str, tmp_path: Path
) -> None:
    done = run_serve(serve_env(tmp_path / "data", **{name: value}), tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert name in lines[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "relay.db").exists()


async def test_embedded_defaults_live_in_data_dir(tmp_path: Path) -> None:
    # No secrets in the environment: relay generates them and keeps them in DATA_DIR.
    server = RelayServer(
        Backend("embedded"), tmp_path / "data", workers=1,
        extra_env={"CRYPTO_SECRET": "", "SESSION_SECRET": ""},
    )  # fmt: skip
    data = server.data_dir
    try:
        await server.start()
        assert {"relay.db", "redis.sock", "secrets.json"} <= {p.name for p in data.iterdir()}
        [redis_pid] = [p for p in server.child_pids() if comm(p) == "redis-server"]
        second = run_serve(
            serve_env(data, PORT=str(server.port + 0), CRYPTO_SECRET="", SESSION_SECRET=""),
            tmp_path,
        )
        assert second.returncode != 0
        assert f"another relay already runs on DATA_DIR={data}" in second.stderr
        assert "Traceback" not in second.stderr
        assert await answers(f"{server.url}/healthz")  # the first one is unharmed
    finally:
        code = server.stop()
    assert code == 0, server.log()
    assert "Traceback" not in server.log()
    assert not (data / "redis.sock").exists()
    assert not Path(f"/proc/{redis_pid}").exists() or comm(redis_pid) != "redis-server"


@pytest.fixture
def empty_backend(backend: Backend) -> Iterator[Backend]:
    """The backend, but on a SQL database that has no users yet."""
    if not backend.sql_dsn:
        yield backend  # every test server has its own DATA_DIR, so its own SQLite file
        return
    with pg_database(os.environ["TEST_PG_DSN"]) as dsn:
        yield Backend(backend.name, sql_dsn=dsn, redis_url=backend.redis_url)


async def test_initial_root_user_on_an_empty_database(
    empty_backend: Backend, tmp_path: Path
) -> None:
    password, access_token = "root-pass-1234", "root-access-token-abcdef"
    server = RelayServer(
        empty_backend, tmp_path / "data", workers=1,
        extra_env={"INITIAL_ROOT_PASSWORD": password, "INITIAL_ROOT_ACCESS_TOKEN": access_token},
    )  # fmt: skip
    async with AsyncExitStack() as stack:
        await server.start()
        stack.callback(server.stop)
        store = Store(server)
        stack.push_async_callback(store.close)
        async with store.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT * FROM users"))).mappings().all()
    assert len(rows) == 1
    root = rows[0]
    assert (root["id"], root["username"], root["role"]) == (1, "root", 100)
    assert root["quota"] == 100_000_000
    assert (
        root["password"].startswith(("$2a$", "$2b$", "$2y$")) and password not in root["password"]
    )
    assert root["access_token"] and access_token not in root["access_token"]
