"""Test harness: real `relay serve` processes, the mock upstream, and seeding through the store.

Nothing of relay is mocked: tests start the real command, talk HTTP to it, and seed data with
relay's own store functions against the same SQL database and Redis the server uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import redis as sync_redis
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from relay import events
from relay.crypto import Keyring
from relay.quota import keys
from relay.store.channels import create_channel
from relay.store.engine import make_engine
from relay.store.options import set_option
from relay.store.tokens import create_token
from relay.store.users import create_user

REPO = Path(__file__).resolve().parent.parent
MOCK = REPO / "bench" / "mock_upstream.py"
CRYPTO_SECRET = "test-crypto-secret-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Backend:
    """Where a relay under test keeps its state: the embedded defaults or PostgreSQL + Redis."""

    name: str
    sql_dsn: str = ""  # "" = SQLite in DATA_DIR
    redis_url: str = ""  # "" = embedded Redis in DATA_DIR

    def env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        if self.sql_dsn:
            env["SQL_DSN"] = self.sql_dsn
        if self.redis_url:
            env["REDIS_CONN_STRING"] = self.redis_url
        return env


class MockUpstream:
    """The OpenAI-speaking mock provider, as a subprocess."""

    def __init__(self, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(MOCK), "--host", "127.0.0.1", "--port", "0", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY port="):
            raise RuntimeError(f"mock upstream did not start: {line!r}")
        self.port = int(line.strip().split("=")[1])
        self.url = f"http://127.0.0.1:{self.port}"

    async def calls(self, key: str | None = None) -> list[dict[str, Any]]:
        params = {"key": key} if key else {}
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.url}/_mock/calls", params=params) as resp,
        ):
            return list(await resp.json())

    async def reset(self) -> None:
        async with aiohttp.ClientSession() as http, http.post(f"{self.url}/_mock/reset"):
            pass

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@dataclass
class Seeded:
    user_id: int
    token_id: int
    key: str

    @property
    def api_key(self) -> str:
        return f"sk-{self.key}"


@dataclass
class Scenario(Seeded):
    group: str = ""
    channel_ids: list[int] = field(default_factory=list)


@dataclass
class RelayServer:
    """One `relay serve` (supervisor + workers + admin) with its own data directory."""

    backend: Backend
    data_dir: Path
    workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    admin_port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SQL_DSN", "REDIS_"))}
        env.update(
            {
                "DATA_DIR": str(self.data_dir),
                "HOST": "127.0.0.1",
                "PORT": str(self.port),
                "ADMIN_PORT": str(self.admin_port),
                "WORKERS": str(self.workers),
                "CRYPTO_SECRET": CRYPTO_SECRET,
                "SESSION_SECRET": "test-session-secret",
                "SHUTDOWN_TIMEOUT_SECONDS": "10",
                "SYNC_FREQUENCY": "30",
                "LOG_LEVEL": "INFO",
                # every server has a root user (id 1) that admin-API tests sign in as
                "INITIAL_ROOT_PASSWORD": "root-password-123",
                "INITIAL_ROOT_ACCESS_TOKEN": "root-access-token-0123456789",
                # the suite sends many admin calls from one IP: new-api's per-IP limits are
                # tested by their own servers
                "GLOBAL_API_RATE_LIMIT_ENABLE": "false",
                "CRITICAL_RATE_LIMIT_ENABLE": "false",
                "SEARCH_RATE_LIMIT_ENABLE": "false",
            }
        )
        env.update(self.backend.env())
        env.update(self.extra_env)
        return env

    async def start(self, timeout: float = 30.0) -> None:
        self.port = self.port or free_port()
        self.admin_port = self.admin_port or free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "relay.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed by the child's exit
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "relay", "serve"],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(self.data_dir),
        )
        log.close()
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"relay exited {self.proc.returncode}:\n{self.log()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with (
                        http.get(f"{self.url}/healthz") as r1,
                        http.get(f"{self.admin_url}/api/status") as r2,
                    ):
                        if r1.status == 200 and r2.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"relay did not become ready:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def child_pids(self) -> list[int]:
        """The supervisor's children (admin + workers), from /proc."""
        assert self.proc is not None
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()]

    def worker_pids(self) -> list[int]:
        return [p for p in self.child_pids() if _is_worker(p)]


def _is_worker(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "relay-worker"
    except OSError:
        return False


class Store:
    """Seed and inspect a relay's SQL and Redis through relay's own store functions."""

    def __init__(self, server: RelayServer) -> None:
        self.server = server
        self.keyring = Keyring(CRYPTO_SECRET)
        dsn = server.backend.sql_dsn
        if dsn:
            url = dsn.replace("postgres://", "postgresql+asyncpg://", 1)
            url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
        else:
            url = f"sqlite+aiosqlite:///{server.data_dir / 'relay.db'}"
        self.engine: AsyncEngine = make_engine(url)
        redis_url = server.backend.redis_url or f"unix://{server.data_dir / 'redis.sock'}"
        self.redis = aioredis.Redis.from_url(redis_url)

    async def close(self) -> None:
        await self.engine.dispose()
        await self.redis.aclose()

    async def user_with_token(
        self, *, quota: int = 100_000_000, remain: int = 100_000_000, **token_args: Any
    ) -> Seeded:
        name = f"u{uuid.uuid4().hex[:10]}"
        user_args = {k: token_args.pop(k) for k in ("role", "group", "status") if k in token_args}
        async with self.engine.begin() as conn:
            uid = await create_user(conn, name, "password123", quota=quota, **user_args)
            tid, key = await create_token(
                conn, self.keyring, uid, remain_quota=remain, **token_args
            )
        return Seeded(uid, tid, key)

    async def channel(self, *, key: str, models: list[str], base_url: str, **args: Any) -> int:
        async with self.engine.begin() as conn:
            cid = await create_channel(
                conn, self.keyring, name=args.pop("name", key), key=key, models=models,
                base_url=base_url, **args,
            )  # fmt: skip
        return cid

    async def scenario(
        self,
        upstream: MockUpstream,
        *,
        channels: list[dict[str, Any]] | None = None,
        models: tuple[str, ...] = ("gpt-4o-mini",),
        **user_args: Any,
    ) -> Scenario:
        """A private routing group with its own channels and a funded user and token in it.

        Each channel dict may set `key` (mock behaviour), `priority`, `weight`, `model_mapping`
        and so on; routing in one scenario never sees another scenario's channels.
        """
        group = f"g{uuid.uuid4().hex[:10]}"
        ids = []
        for spec in channels or [{"key": "mock"}]:
            spec = dict(spec)
            ids.append(
                await self.channel(
                    key=spec.pop("key"),
                    models=list(spec.pop("models", models)),
                    base_url=spec.pop("base_url", upstream.url),
                    groups=[group],
                    **spec,
                )
            )
        seeded = await self.user_with_token(group=group, **user_args)
        await self.publish_routing()
        return Scenario(seeded.user_id, seeded.token_id, seeded.key, group, ids)

    async def option(self, key: str, value: str) -> None:
        async with self.engine.begin() as conn:
            await set_option(conn, key, value)

    async def publish_routing(self) -> None:
        """Tell every worker to reload channels and options, and wait until they have."""
        await events.publish(self.redis, events.ROUTING)
        await asyncio.sleep(0.6)

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()

    async def balances(self, seeded: Seeded) -> dict[str, int]:
        user = await self.redis.hgetall(keys.user_key(seeded.user_id))
        token = await self.redis.hgetall(keys.token_key(seeded.user_id, seeded.token_id))
        return {
            "user": int(user.get(b"q", 0)),
            "user_held": int(user.get(b"h", 0)),
            "token": int(token.get(b"q", 0)),
            "token_held": int(token.get(b"h", 0)),
            "token_used": int(token.get(b"uq", 0)),
        }

    async def wait_drained(self, timeout: float = 15.0) -> None:
        """Wait until the admin process has moved every ledger and log entry into SQL."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lengths = [await self.redis.xlen(keys.ledger_key(s)) for s in range(keys.SHARDS)]
            lengths += [await self.redis.xlen(keys.logs_key(s)) for s in range(keys.SHARDS)]
            if not any(lengths):
                await asyncio.sleep(0.2)
                return
            await asyncio.sleep(0.1)
        raise TimeoutError("the admin process did not drain the streams")


def _run_async(coro: Any) -> Any:
    """Run a coroutine to completion on a private loop in a thread (safe inside pytest-asyncio)."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(coro)))
    thread.start()
    thread.join()
    return result[0] if result else None


async def _pg_execute(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def pg_database(admin_dsn: str) -> Iterator[str]:
    """A throw-away PostgreSQL database on the server of `admin_dsn`."""
    name = f"relay_test_{uuid.uuid4().hex[:12]}"
    _run_async(_pg_execute(admin_dsn, f'CREATE DATABASE "{name}"'))
    base = admin_dsn.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        _run_async(_pg_execute(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def redis_db_url(url: str, db: int) -> str:
    """`url` (an external Redis, e.g. TEST_REDIS_URL) pointing at database number `db`."""
    scheme, _, rest = url.split("?", 1)[0].partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/{db}"


FRESH_REDIS_DB = 13  # fresh_backend's database on the external Redis (the module servers': 15)


@contextlib.contextmanager
def fresh_backend(backend: Backend) -> Iterator[Backend]:
    """A backend like `backend` with an empty SQL database, for a second server (the module's
    server already has root): embedded state in that server's DATA_DIR, or a throw-away
    PostgreSQL database with its own empty Redis database — on the module's Redis database the
    module server's admin process would drain this server's usage logs into its own SQL."""
    if backend.name != "pg":
        yield Backend("embedded")
        return
    url = redis_db_url(backend.redis_url, FRESH_REDIS_DB)
    with sync_redis.Redis.from_url(url) as client:
        client.flushdb()
    try:
        with pg_database(os.environ["TEST_PG_DSN"]) as dsn:
            yield Backend("pg", sql_dsn=dsn, redis_url=url)
    finally:
        with sync_redis.Redis.from_url(url) as client:
            client.flushdb()


@contextlib.asynccontextmanager
async def running(server: RelayServer) -> AsyncIterator[RelayServer]:
    await server.start()
    try:
        yield server
    finally:
        server.stop()
