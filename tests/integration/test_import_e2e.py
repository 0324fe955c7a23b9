"""End to end: `relay import` from a One API / new-api database, then `relay serve` on the
result — the team's existing `sk-…` keys, passwords and access tokens keep working."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from admin_client import AdminClient
from legacy_db import LegacyDb, go_bcrypt
from relay_harness import (
    CRYPTO_SECRET,
    Backend,
    MockUpstream,
    RelayServer,
    Store,
    pg_database,
    running,
)

pytestmark = pytest.mark.integration

KEY_ALICE = "aliceKey0123456789abcdefghijklmnopqrstuvwxyzABCD"
KEY_LIMITED = "limitedKey0123456789abcdefghijklmnopqrstuvwxyzAB"
KEY_SUBNET = "subnetKey0123456789abcdefghijklmnopqrstuvwxyzABC"
ROOT_ACCESS = "0123456789abcdef0123456789abcdef"  # One API's uuid-style access token
CODE = "fedcba9876543210fedcba9876543210"
NOW = int(time.time())


@pytest.fixture
def target(backend: Backend) -> Iterator[Backend]:
    """A fresh, empty relay database (and the backend's Redis) for one import."""
    if backend.name == "embedded":
        yield Backend("embedded")
        return
    with pg_database(os.environ["TEST_PG_DSN"]) as dsn:
        yield Backend("pg", sql_dsn=dsn, redis_url=backend.redis_url)


def relay_import(
    data_dir: Path, backend: Backend, source: str, *flags: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SQL_DSN", "REDIS_"))}
    env.update(DATA_DIR=str(data_dir), CRYPTO_SECRET=CRYPTO_SECRET, **backend.env())
    return subprocess.run(
        [sys.executable, "-m", "relay", "import", "--from", source, *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def seed_common(db: LegacyDb, upstream: MockUpstream) -> None:
    db.add(
        "users", id=1, username="root", password=go_bcrypt("oneapi-root-pw"), role=100,
        status=1, display_name="Root User", access_token=ROOT_ACCESS, quota=100000000,
        group="default", aff_code="R00T",
    )  # fmt: skip
    db.add(
        "users", id=7, username="alice", password=go_bcrypt("alice-password"), role=1,
        status=1, display_name="Alice", email="alice@example.com", quota=5000000,
        used_quota=1234, group="default", aff_code="",
    )  # fmt: skip
    db.add(
        "channels", id=12, type=1, key="mock;tag=IMP;pt=10;ct=5", status=1, name="main",
        base_url=upstream.url, models="gpt-4o-mini,gpt-4o", group="default", priority=5,
        weight=1, created_time=NOW,
    )  # fmt: skip
    # a stale ability row, as old databases have: relay rebuilds them from the channels
    db.add("abilities", group="default", model="gone-model", channel_id=99, enabled=1)
    db.add("options", key="SystemName", value="Imported Gateway")
    db.add("options", key="SMTPToken", value="smtp-secret")
    db.add(
        "redemptions", id=2, user_id=1, key=CODE, status=1, name="welcome", quota=777,
        created_time=NOW,
    )  # fmt: skip


def one_api_db(tmp: Path, upstream: MockUpstream, pg_dsn: str = "") -> LegacyDb:
    db = LegacyDb(tmp / "one-api.db", "one-api", pg_dsn=pg_dsn).create()
    seed_common(db, upstream)
    db.add("users", id=9, username="gone", password="x", status=3, quota=0, aff_code="GONE")
    for tid, key, extra in (
        (3, KEY_ALICE, {"models": "", "subnet": ""}),
        (4, KEY_LIMITED, {"models": "gpt-4o", "subnet": ""}),
        (5, KEY_SUBNET, {"models": None, "subnet": "10.0.0.0/8"}),
    ):
        db.add(
            "tokens", id=tid, user_id=7, key=key, status=1, name=f"t{tid}",
            created_time=NOW, accessed_time=NOW, expired_time=-1, remain_quota=1000000,
            unlimited_quota=0, used_quota=0, **extra,
        )  # fmt: skip
    db.add("channels", id=13, type=38, key="deepl-key", status=1, name="deepl", models="x")
    db.add(
        "channels", id=14, type=29, key="gsk", status=1, name="groq", models="llama3",
        base_url=None, group="default", config='{"api_version": "2024-01"}',
    )  # fmt: skip
    db.add(
        "logs", id=40, user_id=7, created_at=NOW - 60, type=2, content="", username="alice",
        token_name="t3", model_name="gpt-4o-mini", quota=100, prompt_tokens=10,
        completion_tokens=5, channel_id=12, elapsed_time=2500, is_stream=0,
    )  # fmt: skip
    return db


def new_api_db(tmp: Path, upstream: MockUpstream, pg_dsn: str = "") -> LegacyDb:
    db = LegacyDb(tmp / "new-api.db", "new-api").create()
    seed_common(db, upstream)
    db.add(
        "users", id=9, username="gone", password="x", status=1, quota=0, aff_code="GONE",
        deleted_at="2025-03-01 10:20:30.123456789+08:00",
    )  # fmt: skip
    for tid, key, limits in ((3, KEY_ALICE, ""), (4, KEY_LIMITED, "gpt-4o")):
        db.add(
            "tokens", id=tid, user_id=7, key=key, status=1, name=f"t{tid}",
            created_time=NOW, accessed_time=NOW, expired_time=-1, remain_quota=1000000,
            unlimited_quota=0, used_quota=0, model_limits_enabled=1 if limits else 0,
            model_limits=limits, allow_ips="", group="",
        )  # fmt: skip
    db.add(
        "tokens", id=5, user_id=7, key=KEY_SUBNET, status=1, name="t5", remain_quota=1,
        allow_ips="10.0.0.0/8\n192.168.0.0/16", model_limits_enabled=0,
    )  # fmt: skip
    db.add("setups", id=1, version="v0.9.0", initialized_at=NOW - 86400)
    db.add(
        "logs", id=40, user_id=7, created_at=NOW - 60, type=2, content="", username="alice",
        token_name="t3", model_name="gpt-4o-mini", quota=100, prompt_tokens=10,
        completion_tokens=5, channel_id=12, use_time=3, token_id=3, group="default",
        request_id="req-old-1", other='{"model_ratio":0.075}',
    )  # fmt: skip
    for hour in (3600, 3600):  # a duplicated hour bucket is merged
        db.add(
            "quota_data", user_id=7, username="alice", model_name="gpt-4o-mini",
            created_at=NOW // 3600 * 3600 - hour, token_used=15, count=1, quota=100,
        )  # fmt: skip
    return db


async def check_served(server: RelayServer, kind: str) -> None:
    """The imported keys, passwords and access token work on a real `relay serve`."""
    async with openai.AsyncOpenAI(
        base_url=server.base_url, api_key=f"sk-{KEY_ALICE}", max_retries=0
    ) as api:
        reply = await api.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "still me?"}]
        )
        assert (reply.choices[0].message.content or "").startswith("[IMP]")
    async with openai.AsyncOpenAI(
        base_url=server.base_url, api_key=f"sk-{KEY_LIMITED}", max_retries=0
    ) as api:
        with pytest.raises(openai.PermissionDeniedError):
            await api.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "not allowed"}]
            )
    async with openai.AsyncOpenAI(
        base_url=server.base_url, api_key=f"sk-{KEY_SUBNET}", max_retries=0
    ) as api:
        with pytest.raises(openai.PermissionDeniedError):
            await api.models.list()
    async with AdminClient(server, token=ROOT_ACCESS, user_id=1) as admin:
        options = {o["key"]: o["value"] for o in (await admin.get("/api/option/")).data}
        assert options["SystemName"] == "Imported Gateway" and "SMTPToken" not in options
        assert (await admin.get("/api/status")).data["setup"] is True
    async with AdminClient(server) as alice:
        assert (await alice.login("alice", "alice-password")).ok, kind
        assert (await alice.post("/api/user/topup", {"key": CODE})).data == 777
        assert not (await alice.login("gone", "x")).ok
    async with AdminClient(server) as root_console:
        assert (await root_console.login("root", "oneapi-root-pw")).ok


async def verify_database(store: Store, kind: str) -> None:
    assert await store.scalar("SELECT COUNT(*) FROM abilities WHERE channel_id = 99") == 0
    assert await store.scalar("SELECT COUNT(*) FROM abilities WHERE channel_id = 12") == 2
    assert await store.scalar("SELECT key FROM tokens WHERE id = 3") == (
        store.keyring.lookup_digest(KEY_ALICE)
    )
    sealed = await store.scalar("SELECT key_sealed FROM tokens WHERE id = 3")
    assert store.keyring.open(sealed) == KEY_ALICE
    channel_key = await store.scalar("SELECT key FROM channels WHERE id = 12")
    assert channel_key != "mock;tag=IMP;pt=10;ct=5"
    assert store.keyring.open(channel_key) == "mock;tag=IMP;pt=10;ct=5"
    assert await store.scalar("SELECT access_token FROM users WHERE id = 1") == (
        store.keyring.lookup_digest(ROOT_ACCESS)
    )
    assert await store.scalar("SELECT deleted_at FROM users WHERE id = 9") is not None
    assert await store.scalar("SELECT used_quota FROM users WHERE id = 7") == 1234
    assert await store.scalar("SELECT use_time FROM logs WHERE id = 40") == (
        2 if kind == "one-api" else 3
    )
    if kind == "one-api":
        assert await store.scalar("SELECT model_limits FROM tokens WHERE id = 4") == "gpt-4o"
        assert await store.scalar("SELECT allow_ips FROM tokens WHERE id = 5") == "10.0.0.0/8"
        assert await store.scalar("SELECT status FROM channels WHERE id = 13") == 2
        groq = "SELECT type || ' ' || base_url || ' ' || other FROM channels WHERE id = 14"
        assert await store.scalar(groq) == "1 https://api.groq.com/openai 2024-01"
    else:
        assert await store.scalar("SELECT SUM(count) FROM quota_data") == 2
        assert await store.scalar("SELECT COUNT(*) FROM quota_data") == 1
        assert await store.scalar("SELECT version FROM setups") == "v0.9.0"
    # new rows get fresh ids after the imported ones (sequences moved on PostgreSQL)
    async with store.engine.begin() as conn:
        from relay.store.users import create_user

        assert await create_user(conn, f"n{uuid.uuid4().hex[:8]}", "password123") == 10


@pytest.mark.parametrize("source_kind", ["one-api", "new-api", "one-api-pg"])
async def test_import_then_serve_with_the_old_keys(
    source_kind: str, target: Backend, upstream: MockUpstream, tmp_path: Path
) -> None:
    kind = source_kind.removesuffix("-pg")
    with contextlib.ExitStack() as stack:
        pg_source = ""
        if source_kind.endswith("-pg"):
            if not target.sql_dsn:
                pytest.skip("a PostgreSQL source needs TEST_PG_DSN (the pg backend)")
            pg_source = stack.enter_context(pg_database(os.environ["TEST_PG_DSN"]))
        db = (one_api_db if kind == "one-api" else new_api_db)(tmp_path, upstream, pg_source)
        await import_and_serve(db, kind, target, tmp_path)


async def import_and_serve(db: LegacyDb, kind: str, target: Backend, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    source = db.dsn if kind == "one-api" else str(db.path)
    dry = relay_import(data_dir, target, source, "--dry-run", "--with-logs")
    assert dry.returncode == 0, dry.stderr
    assert f"source: {kind} database" in dry.stdout and "would import 3 tokens" in dry.stdout
    done = relay_import(data_dir, target, source, "--with-logs")
    assert done.returncode == 0, done.stderr
    assert "imported 3 users" in done.stdout and "imported 1 logs" in done.stdout
    again = relay_import(data_dir, target, source)
    assert again.returncode == 1 and "not empty" in again.stderr
    server = RelayServer(backend=target, data_dir=data_dir, workers=2)
    async with running(server):
        store = Store(server)
        try:
            await verify_database(store, kind)
            await store.publish_routing()
            await check_served(server, kind)
        finally:
            await store.close()
    assert "Traceback" not in server.log(), server.log()


def test_unreadable_sources_are_refused_with_a_message(tmp_path: Path) -> None:
    backend = Backend("embedded")
    missing = relay_import(tmp_path / "d", backend, str(tmp_path / "nope.db"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    mysql = relay_import(tmp_path / "d", backend, "oneapi:pw@tcp(127.0.0.1:3306)/oneapi")
    assert mysql.returncode == 1 and "aiomysql" in mysql.stderr
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    nothing = relay_import(tmp_path / "d", backend, str(empty))
    assert nothing.returncode == 1 and "no users table" in nothing.stderr
