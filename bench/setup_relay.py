#!/usr/bin/env python3
"""Seed and inspect a running relay for bench/compare, through relay's own store code.

  setup_relay.py seed DATA_DIR UPSTREAM_URL RELAY_URL
      Creates two funded users, each with one token and a private routing group served by one
      channel for gpt-4o-mini: one channel points at UPSTREAM_URL (canned JSON), the other at
      UPSTREAM_URL/stream (canned SSE). Tells the workers to reload, waits until the model is
      visible through RELAY_URL, and prints shell assignments KEY_NONSTREAM=... KEY_STREAM=...
      The channels' upstream key is BENCH_CHANNEL_KEY (default sk-upstream-bench).
  setup_relay.py check DATA_DIR
      Waits until the admin process has drained the ledger and usage-log streams into SQL, then
      prints one line: usage-log rows written and quota used per token.

Run it after `relay serve` has started on DATA_DIR (relay creates the schema and the embedded
Redis); the settings (crypto secret, SQL and Redis locations) are read the same way relay does.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis
from sqlalchemy import text

from relay import events
from relay.crypto import Keyring
from relay.quota import keys
from relay.redis_client import redis_url
from relay.settings import Settings, load_settings
from relay.store.channels import create_channel
from relay.store.engine import database_url, make_engine
from relay.store.tokens import create_token
from relay.store.users import create_user

MODEL = "gpt-4o-mini"
FUNDS = 10**13  # enough quota for any number of benchmark requests
# The channels' upstream key; bench/mock_upstream.py reads behaviour from it (chunk_delay=...).
CHANNEL_KEY = os.environ.get("BENCH_CHANNEL_KEY", "sk-upstream-bench")


def settings_for(data_dir: str) -> Settings:
    env = {k: v for k, v in os.environ.items() if k in ("SQL_DSN", "REDIS_CONN_STRING")}
    env["DATA_DIR"] = data_dir
    for name in ("CRYPTO_SECRET", "SESSION_SECRET"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return load_settings(env)


async def seed(data_dir: str, upstream: str, relay_url: str) -> None:
    settings = settings_for(data_dir)
    keyring = Keyring(settings.crypto_secret)
    engine = make_engine(database_url(settings))
    out: dict[str, str] = {}
    try:
        for mode, base_url in (
            ("NONSTREAM", upstream),
            ("STREAM", upstream.rstrip("/") + "/stream"),
        ):
            group = f"bench{mode.lower()}{uuid.uuid4().hex[:6]}"
            async with engine.begin() as conn:
                await create_channel(
                    conn, keyring, name=f"canned-{mode.lower()}", key=CHANNEL_KEY,
                    models=[MODEL], base_url=base_url, groups=[group],
                )  # fmt: skip
                user_id = await create_user(
                    conn, f"bench-{mode.lower()}-{uuid.uuid4().hex[:6]}", "bench-password",
                    quota=FUNDS, group=group,
                )  # fmt: skip
                _, key = await create_token(
                    conn, keyring, user_id, name=f"bench-{mode.lower()}", remain_quota=FUNDS
                )
            out[mode] = f"sk-{key}"
    finally:
        await engine.dispose()
    redis = aioredis.Redis.from_url(redis_url(settings))
    try:
        await events.publish(redis, events.ROUTING)
    finally:
        await redis.aclose()
    await wait_visible(relay_url, list(out.values()))
    for mode, key in out.items():
        print(f"KEY_{mode}={key}")


async def wait_visible(relay_url: str, api_keys: list[str], timeout: float = 30.0) -> None:
    """Until every worker answers /v1/models with the model for every key (reload is async)."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            seen = 0
            for key in api_keys:
                for _ in range(8):  # several connections: with 2 workers either may answer
                    async with http.get(
                        f"{relay_url}/v1/models",
                        headers={"Authorization": f"Bearer {key}", "Connection": "close"},
                    ) as resp:
                        body = await resp.text()
                    seen += resp.status == 200 and MODEL in body
            if seen == 8 * len(api_keys):
                return
            await asyncio.sleep(0.2)
    raise SystemExit(f"relay at {relay_url} did not load the benchmark channels in {timeout} s")


async def check(data_dir: str, timeout: float = 60.0) -> None:
    settings = settings_for(data_dir)
    redis = aioredis.Redis.from_url(redis_url(settings))
    engine = make_engine(database_url(settings))
    try:
        deadline = time.monotonic() + timeout
        pending = -1
        while time.monotonic() < deadline:
            lengths = [await redis.xlen(keys.ledger_key(s)) for s in range(keys.SHARDS)]
            lengths += [await redis.xlen(keys.logs_key(s)) for s in range(keys.SHARDS)]
            pending = sum(lengths)
            if not pending:
                break
            await asyncio.sleep(0.2)
        async with engine.connect() as conn:
            logs = (await conn.execute(text("SELECT count(*) FROM logs WHERE type = 2"))).scalar()
            rows = (
                await conn.execute(
                    text(
                        "SELECT name, used_quota FROM tokens WHERE name LIKE 'bench-%' ORDER BY id"
                    )
                )
            ).all()
        used = ", ".join(f"{name} used_quota={quota}" for name, quota in rows)
        print(
            f"{Path(data_dir).name}: usage logs={logs}; {used}; "
            f"stream entries not drained={pending}"
        )
    finally:
        await redis.aclose()
        await engine.dispose()


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "seed":
        asyncio.run(seed(argv[1], argv[2], argv[3]))
    elif len(argv) == 2 and argv[0] == "check":
        asyncio.run(check(argv[1]))
    else:
        sys.stderr.write(__doc__ or "")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
