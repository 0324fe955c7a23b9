"""End to end: /api/log/* — filters, ownership, pagination and its cheap total, stat, deletion,
and LOG_RETENTION_DAYS, against a real `relay serve` with traffic through the relay port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest
import redis as sync_redis
from admin_client import AdminClient, as_user, root
from relay_harness import (
    Backend,
    MockUpstream,
    RelayServer,
    Scenario,
    Store,
    pg_database,
    running,
)
from sqlalchemy import insert, select

from relay.store.engine import make_engine
from relay.store.migrate import run_migrations
from relay.store.schema import logs

pytestmark = pytest.mark.integration


@dataclass
class Traffic:
    a: Scenario
    b: Scenario
    a_name: str
    b_name: str
    request_ids: list[str]


async def chat(relay: RelayServer, s: Scenario, model: str) -> str:
    async with openai.AsyncOpenAI(base_url=relay.base_url, api_key=s.api_key, max_retries=0) as api:
        reply = await api.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": "hi"}]
        )
    return str(reply.headers["X-Oneapi-Request-Id"])


@pytest.fixture(scope="module")
async def traffic(relay: RelayServer, store: Store, upstream: MockUpstream) -> Traffic:
    models = ("gpt-4o-mini", "gpt-4o")
    a = await store.scenario(upstream, channels=[{"key": "mock;tag=A;pt=11;ct=7"}], models=models)
    b = await store.scenario(upstream, channels=[{"key": "mock;tag=B;pt=5;ct=3"}], models=models)
    rids = [await chat(relay, a, "gpt-4o-mini"), await chat(relay, a, "gpt-4o")]
    rids.append(await chat(relay, b, "gpt-4o-mini"))
    await store.wait_drained()
    names = [
        await store.scalar("SELECT username FROM users WHERE id = :i", i=s.user_id) for s in (a, b)
    ]
    return Traffic(a, b, names[0], names[1], rids)


async def insert_logs(store: Store, rows: list[dict[str, Any]]) -> None:
    """Insert rows directly (as an import or an older writer would); rows with the same columns
    go in one executemany."""
    batches: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for values in rows:
        batches.setdefault(tuple(sorted(values)), []).append(values)
    async with store.engine.begin() as conn:
        for batch in batches.values():
            await conn.execute(insert(logs), batch)


async def test_admin_filters_each_select_their_rows(relay: RelayServer, traffic: Traffic) -> None:
    a, b = traffic.a, traffic.b
    async with root(relay) as admin:

        async def ids(**params: Any) -> set[str]:
            reply = await admin.get("/api/log/", page_size=100, **params)
            return {i.get("request_id", "") for i in reply.data["items"]}

        everything = await ids(type=2)
        assert set(traffic.request_ids) <= everything
        assert await ids(username=traffic.a_name) == set(traffic.request_ids[:2])
        assert await ids(username=traffic.b_name) == {traffic.request_ids[2]}
        assert await ids(request_id=traffic.request_ids[1]) == {traffic.request_ids[1]}
        assert await ids(channel=b.channel_ids[0]) == {traffic.request_ids[2]}
        assert await ids(group=a.group) == set(traffic.request_ids[:2])
        assert await ids(group=a.group, model_name="gpt-4o") == {traffic.request_ids[1]}
        assert await ids(group=a.group, model_name="gpt-4o%") == set(traffic.request_ids[:2])
        assert await ids(group=a.group, type=5) == set()
        now = int(time.time())
        assert await ids(group=a.group, start_timestamp=now - 600, end_timestamp=now + 5) == set(
            traffic.request_ids[:2]
        )
        assert await ids(group=a.group, end_timestamp=now - 600) == set()
        reply = await admin.get("/api/log/", request_id=traffic.request_ids[0])
        item = reply.data["items"][0]
        tokens = await ids(group=a.group, token_name=item["token_name"])
        assert tokens == set(traffic.request_ids[:2])
        upstream_id = item["upstream_request_id"]
        assert await ids(upstream_request_id=upstream_id) == {traffic.request_ids[0]}
        assert (
            item["channel"] == a.channel_ids[0] and item["channel_name"] == "mock;tag=A;pt=11;ct=7"
        )
        assert item["prompt_tokens"] == 11 and item["completion_tokens"] == 7
        assert orjson.loads(item["other"])["admin_info"]["use_channel"] == [str(a.channel_ids[0])]


async def test_a_user_sees_only_own_logs_without_admin_info(
    relay: RelayServer, store: Store, traffic: Traffic
) -> None:
    a = traffic.a
    other = '{"admin_info":{"by":"root"},"audit_info":1,"k":2}'
    row = {"user_id": a.user_id, "created_at": int(time.time()), "type": 3, "other": other}
    await insert_logs(store, [row | {"content": "x", "username": traffic.a_name}])
    async with await as_user(relay, store, a.user_id) as me:
        reply = await me.get("/api/log/self", page_size=100)
        items = reply.data["items"]
        assert {i["user_id"] for i in items} == {a.user_id}
        assert {i.get("request_id") for i in items} >= set(traffic.request_ids[:2])
        assert traffic.request_ids[2] not in {i.get("request_id") for i in items}
        assert [i["id"] for i in items] == list(range(1, len(items) + 1))  # renumbered
        for item in items:
            assert "admin_info" not in item["other"] and "audit_info" not in item["other"]
            assert item["channel_name"] == ""
        assert any(orjson.loads(i["other"]) == {"k": 2} for i in items if i["type"] == 3)
        # other users' rows cannot be reached through the admin-only filters
        crossed = await me.get(
            "/api/log/self", username=traffic.b_name, channel=traffic.b.channel_ids[0]
        )
        assert {i["user_id"] for i in crossed.data["items"]} == {a.user_id}
        other = await me.get("/api/log/self", request_id=traffic.request_ids[2])
        assert other.data["items"] == [] and other.data["total"] == 0
        for path in ("/api/log/", "/api/log/stat", "/api/data/", "/api/data/users"):
            refused = await me.get(path)
            assert refused.status == 200 and not refused.ok, path
            assert "privileges" in refused.message
        assert not (await me.call("DELETE", "/api/log/", params={"target_timestamp": 10})).ok
        mine = await me.get("/api/log/self/stat")
        theirs = await me.get("/api/log/self/stat", username=traffic.b_name)
        assert mine.data == theirs.data  # username is not a self filter
        assert mine.data["quota"] == sum(i["quota"] for i in items if i["type"] == 2) > 0
        assert mine.data["rpm"] <= 2  # the last minute: exact values in the stat test below
    async with AdminClient(relay) as anonymous:
        assert (await anonymous.get("/api/log/self")).status == 401


async def test_pagination_keyset_and_the_cheap_total(relay: RelayServer, store: Store) -> None:
    name = f"pg{uuid.uuid4().hex[:8]}"
    now = int(time.time())
    await insert_logs(
        store,
        [{"user_id": 0, "username": name, "created_at": now - i, "type": 2, "content": str(i)}
         for i in range(25)],
    )  # fmt: skip
    async with root(relay) as admin:
        first = (await admin.get("/api/log/", username=name, page_size=10)).data
        assert first["total"] == 25 and first["total_exact"] is True
        assert (first["page"], first["page_size"]) == (1, 10)
        assert [i["content"] for i in first["items"]] == [str(i) for i in range(10)]
        third = (await admin.get("/api/log/", username=name, page_size=10, p=3)).data
        assert [i["content"] for i in third["items"]] == [str(i) for i in range(20, 25)]
        last_of_first = first["items"][-1]["id"]
        keyset = await admin.get("/api/log/", username=name, page_size=10, before_id=last_of_first)
        assert [i["content"] for i in keyset.data["items"]] == [str(i) for i in range(10, 20)]
        big = (await admin.get("/api/log/", page_size=500)).data
        assert big["page_size"] == 100
        # past the count cap the total is an estimate and says so
        many = f"many{uuid.uuid4().hex[:8]}"
        await insert_logs(
            store, [{"username": many, "created_at": now, "type": 4} for _ in range(10_050)]
        )
        capped = (await admin.get("/api/log/", username=many)).data
        assert capped["total_exact"] is False and capped["total"] >= 10_000
        unfiltered = (await admin.get("/api/log/")).data
        assert unfiltered["total_exact"] is False and unfiltered["total"] >= 10_075


async def test_stat_sums_quota_and_the_last_minute(relay: RelayServer, store: Store) -> None:
    name = f"st{uuid.uuid4().hex[:8]}"
    now = int(time.time())
    rows = [
        {"created_at": now - 7200, "quota": 1000, "prompt_tokens": 50},
        {"created_at": now - 5, "quota": 30, "prompt_tokens": 10, "completion_tokens": 2},
        {"created_at": now - 2, "quota": 12, "prompt_tokens": 3, "completion_tokens": 1},
        {"created_at": now - 2, "quota": 500, "type": 5},
    ]
    await insert_logs(store, [{"username": name, "type": 2, "model_name": "m"} | r for r in rows])
    async with root(relay) as admin:
        stat = (await admin.get("/api/log/stat", username=name)).data
        assert stat == {"quota": 1042, "rpm": 2, "tpm": 16}
        ranged = await admin.get(
            "/api/log/stat", username=name, start_timestamp=now - 60, end_timestamp=now
        )
        assert ranged.data == {"quota": 42, "rpm": 2, "tpm": 16}
        none = await admin.get("/api/log/stat", username=name, model_name="other")
        assert none.data == {"quota": 0, "rpm": 0, "tpm": 0}


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/api/log/", {"start_timestamp": "yesterday"}, "start_timestamp must be an integer"),
        ("/api/log/", {"type": "2.5"}, "type must be an integer"),
        ("/api/log/", {"channel": "x"}, "channel must be an integer"),
        ("/api/log/", {"channel": str(2**40)}, "channel is out of range"),
        ("/api/log/", {"end_timestamp": "9" * 30}, "end_timestamp is out of range"),
        ("/api/log/", {"model_name": "gpt%%"}, "consecutive"),
        ("/api/log/", {"before_id": "-3"}, "before_id"),
        ("/api/log/", {"before_id": "999999999"}, "no such log row"),
        ("/api/log/self", {"end_timestamp": "1e9"}, "end_timestamp must be an integer"),
        ("/api/log/self", {"p": "9" * 25}, "p is out of range"),
        ("/api/log/stat", {"start_timestamp": "x"}, "start_timestamp must be an integer"),
        ("/api/log/self/stat", {"username": "%a%b%c"}, ""),  # ignored for self: fine
        ("/api/log/search", {"keyword": "x"}, "deprecated"),
    ],
)
async def test_bad_input_is_refused_with_a_message(
    relay: RelayServer, path: str, params: dict[str, str], message: str
) -> None:
    async with root(relay) as admin:
        reply = await admin.get(path, **params)
        assert reply.status == 200
        if not message:
            assert reply.ok
            return
        assert reply.body["success"] is False and message in reply.message


async def test_root_deletes_old_logs_and_an_admin_may_not(relay: RelayServer, store: Store) -> None:
    name = f"old{uuid.uuid4().hex[:8]}"
    await insert_logs(
        store,
        [{"username": name, "created_at": t, "type": 2} for t in (1000, 2000, 3000, 10**10)],
    )
    admin_user = await store.user_with_token(role=10)
    async with await as_user(relay, store, admin_user.user_id) as admin:
        assert (await admin.get("/api/log/", username=name)).data["total"] == 4
        refused = await admin.call("DELETE", "/api/log/", params={"target_timestamp": 2500})
        assert not refused.ok and "privileges" in refused.message
    async with root(relay) as r:
        missing = await r.call("DELETE", "/api/log/")
        assert not missing.ok and missing.message == "target timestamp is required"
        deleted = await r.call("DELETE", "/api/log/", params={"target_timestamp": 2500})
        assert deleted.data >= 2
        left = (await r.get("/api/log/", username=name)).data["items"]
        assert sorted(i["created_at"] for i in left) == [3000, 10**10]
        audit = (await r.get("/api/log/", type=3, username="root")).data["items"]
        assert any("delete logs" in i["content"] for i in audit)


async def test_log_token_shows_an_api_keys_own_logs(relay: RelayServer, traffic: Traffic) -> None:
    async with AdminClient(relay) as anon:
        mine = await anon.call(
            "GET", "/api/log/token", headers={"Authorization": f"Bearer {traffic.b.api_key}"}
        )
        assert [i.get("request_id") for i in mine.data] == [traffic.request_ids[2]]
        assert "admin_info" not in mine.data[0]["other"]
        bad = await anon.call("GET", "/api/log/token", headers={"Authorization": "sk-nope"})
        assert bad.status == 401 and bad.message == "Invalid token"
        assert (await anon.get("/api/log/token")).status == 401


@contextlib.contextmanager
def private_backend(backend: Backend, data_dir: Path) -> Iterator[tuple[Backend, str]]:
    """A fresh database (and Redis db 12 on PostgreSQL runs) for a second server, so its jobs
    touch nothing of the module's server; yields it and its SQLAlchemy URL."""
    if not backend.sql_dsn:
        yield Backend("embedded"), f"sqlite+aiosqlite:///{data_dir / 'relay.db'}"
        return
    redis_url = backend.redis_url.rsplit("/", 1)[0] + "/12"
    with pg_database(os.environ["TEST_PG_DSN"]) as dsn:
        with sync_redis.Redis.from_url(redis_url) as client:
            client.flushdb()
        yield Backend("pg", dsn, redis_url), "postgresql+asyncpg://" + dsn.split("://", 1)[1]


async def test_log_retention_deletes_only_old_rows(relay: RelayServer, tmp_path: Path) -> None:
    now = int(time.time())
    ages = {"ancient": 30 * 86400, "old": 86400 + 600, "fresh": 86400 - 600, "new": 0}
    rows = [{"content": k, "created_at": now - v, "type": 2} for k, v in ages.items()]
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with private_backend(relay.backend, data_dir) as (backend, url):
        # the rows exist before the server starts: its first retention pass runs at start-up
        await asyncio.to_thread(run_migrations, url)
        engine = make_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(insert(logs), rows)
            server = RelayServer(
                backend, data_dir, workers=1, extra_env={"LOG_RETENTION_DAYS": "1"}
            )
            async with running(server):
                left: list[str] = []
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    async with engine.connect() as conn:
                        found = await conn.execute(
                            select(logs.c.content).where(logs.c.content.in_(list(ages)))
                        )
                        left = sorted(found.scalars())
                    if left == ["fresh", "new"]:
                        break
                    await asyncio.sleep(0.2)
                assert left == ["fresh", "new"], server.log()
            assert server.proc is not None and server.proc.returncode == 0, server.log()
        finally:
            await engine.dispose()
