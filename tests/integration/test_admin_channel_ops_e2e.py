"""End to end: channel tests, upstream model lists, balances and model names (admin API)."""

from __future__ import annotations

import uuid

import orjson
import pytest
from admin_channels import new_group, one, row, wait_for
from admin_client import root
from proxy_kit import http_proxy, socks5_proxy
from relay_harness import MockUpstream, RelayServer, Store
from sqlalchemy import text

pytestmark = pytest.mark.integration

PROXY_SECRET = "pr0xy-s3cret"


async def test_channel_test_passes_is_timed_and_billed_to_the_admin(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=TEST;delay=30;pt=40;ct=20"
    async with root(relay) as admin:
        channel_id = await one(admin, upstream, new_group(), key, models="gpt-4o-mini,gpt-4o")
        await store.wait_drained()
        quota_before = await store.scalar("SELECT quota FROM users WHERE id = 1")
        reply = await admin.get(f"/api/channel/test/{channel_id}")
        assert reply.status == 200 and reply.body["success"] is True, reply.body
        assert reply.body["message"] == "" and reply.body["time"] >= 0.03
        assert "data" not in reply.body  # new-api's raw {success, message, time}
        tested = await row(store, channel_id)
        assert tested["response_time"] >= 30 and tested["test_time"] > 0
        call = (await upstream.calls(key))[-1]
        assert call["model"] == "gpt-4o-mini" and call["body"]["messages"][0]["content"] == "hi"

        with_model = await admin.get(f"/api/channel/test/{channel_id}", model="gpt-4o")
        assert with_model.body["success"] is True
        assert (await upstream.calls(key))[-1]["model"] == "gpt-4o"
    await store.wait_drained()
    logs = await store_rows(
        store, "SELECT * FROM logs WHERE channel_id = :id AND type = 2 ORDER BY id", id=channel_id
    )
    assert [r["model_name"] for r in logs] == ["gpt-4o-mini", "gpt-4o"]
    assert all(r["user_id"] == 1 and "channel test" in r["content"] for r in logs)
    assert logs[0]["prompt_tokens"] == 40 and logs[0]["completion_tokens"] == 20
    assert all(r["quota"] > 0 for r in logs)
    quota_after = await store.scalar("SELECT quota FROM users WHERE id = 1")
    assert quota_before - quota_after == sum(r["quota"] for r in logs)


async def store_rows(store: Store, sql: str, **params: object) -> list[dict[str, object]]:
    async with store.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(text(sql), params)).mappings()]


async def test_channel_test_failure_reports_the_upstream_error(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    async with root(relay) as admin:
        channel_id = await one(admin, upstream, new_group(), "mock;status=401")
        reply = await admin.get(f"/api/channel/test/{channel_id}")
        assert reply.status == 200 and reply.body["success"] is False
        assert "mock error 401" in reply.body["message"] and reply.body["time"] >= 0
        failed = await row(store, channel_id)
        assert failed["response_time"] == 0 and failed["status"] == 1  # a single test never bans
        unmapped = await one(
            admin, upstream, new_group(), "mock", model_mapping='{"gpt-4o-mini": "gpt-x"}'
        )
        mapped = await admin.get(f"/api/channel/test/{unmapped}")
        assert mapped.body["success"] is True
        assert (await upstream.calls("mock"))[-1]["model"] == "gpt-x"
        missing = await admin.get("/api/channel/test/999999999")
        assert missing.body == {"success": False, "message": "channel not found"}
    assert (
        await store.scalar(
            "SELECT COUNT(*) FROM logs WHERE channel_id = :id AND type = 2", id=channel_id
        )
        == 0
    )


async def test_channel_test_goes_through_the_channels_proxy(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = f"mock;tag=PROXIED;run={uuid.uuid4().hex[:8]}"
    async with (
        http_proxy(f"relay:{PROXY_SECRET}") as proxy,
        socks5_proxy(f"relay:{PROXY_SECRET}") as socks,
        root(relay) as admin,
    ):

        async def proxied(url: str) -> int:
            setting = orjson.dumps({"proxy": url}).decode()
            return await one(admin, upstream, new_group(), key, setting=setting)

        via_http = await proxied(f"http://relay:{PROXY_SECRET}@127.0.0.1:{proxy.port}")
        via_socks = await proxied(f"socks5h://relay:{PROXY_SECRET}@127.0.0.1:{socks.port}")
        refused = await proxied(f"socks5://relay:wrong-{PROXY_SECRET}@127.0.0.1:{socks.port}")
        for channel_id in (via_http, via_socks):
            reply = await admin.get(f"/api/channel/test/{channel_id}")
            assert reply.body["success"] is True, reply.body
        failed = await admin.get(f"/api/channel/test/{refused}")
    assert f"POST {upstream.url}/v1/chat/completions" in proxy.targets
    assert proxy.auth == [f"relay:{PROXY_SECRET}"]
    assert socks.targets == [f"127.0.0.1:{upstream.port}"]  # the refused one got no further
    assert socks.auth == [f"relay:{PROXY_SECRET}", f"relay:wrong-{PROXY_SECRET}"]
    assert len(await upstream.calls(key)) == 2
    assert failed.body["success"] is False
    assert f"socks5://127.0.0.1:{socks.port}" in failed.body["message"]
    assert PROXY_SECRET not in failed.body["message"], failed.body["message"]


async def test_fetch_models(relay: RelayServer, store: Store, upstream: MockUpstream) -> None:
    async with root(relay) as admin:
        channel_id = await one(admin, upstream, new_group())
        listed = await admin.get(f"/api/channel/fetch_models/{channel_id}")
        assert listed.ok and "gpt-4o-mini" in listed.data and "gpt-4o" in listed.data
        preview = await admin.post(
            "/api/channel/fetch_models",
            {"base_url": upstream.url, "type": 1, "key": "mock\nsecond-key"},
        )
        assert preview.ok and preview.data == listed.data
        assert (await upstream.calls("mock"))[-1]["path"] == "/v1/models"
        for body, expected in (
            ({"base_url": "ftp://x", "key": "k"}, "base_url"),
            ({"base_url": "http://127.0.0.1:9", "key": "k"}, "failed to fetch"),
            ({"base_url": upstream.url, "key": ""}, "status code: 401"),
            ({"key": "k", "type": 999}, "base_url is required"),
            ({"key": 5}, "strings"),
        ):
            reply = await admin.post("/api/channel/fetch_models", body)
            assert not reply.ok and expected in reply.message, (body, reply.body)


async def test_balance(relay: RelayServer, store: Store, upstream: MockUpstream) -> None:
    async with root(relay) as admin:
        mistral = await one(admin, upstream, new_group(), type=42)
        reply = await admin.get(f"/api/channel/update_balance/{mistral}")
        assert reply.body == {
            "success": False,
            "message": "balance queries are not supported for this channel type (Mistral)",
        }
        multi = await one(admin, upstream, new_group(), "a\nb", mode="multi_to_single")
        reply = await admin.get(f"/api/channel/update_balance/{multi}")
        assert not reply.body["success"] and "multi-key" in reply.body["message"]
        openai_type = await one(admin, upstream, new_group())
        reply = await admin.get(f"/api/channel/update_balance/{openai_type}")
        assert reply.body == {"success": False, "message": "status code: 404"}
        every = await admin.get("/api/channel/update_balance")
        assert every.ok and every.data["failed"] >= 1 and every.data["disabled"] == 0
        assert (await row(store, openai_type))["balance_updated_time"] == 0


async def test_model_lists(relay: RelayServer, store: Store, upstream: MockUpstream) -> None:
    async with root(relay) as admin:
        await one(admin, upstream, new_group(), models="relay-odd-model-a")
        off = await one(admin, upstream, new_group(), models="relay-odd-model-b", status=2)
        known = await admin.get("/api/channel/models")
        ids = {m["id"] for m in known.data}
        assert {"gpt-4o-mini", "relay-odd-model-a", "relay-odd-model-b"} <= ids
        first = next(m for m in known.data if m["id"] == "gpt-4o-mini")
        assert first["owned_by"] == "openai" and first["object"] == "model"
        enabled = (await admin.get("/api/channel/models_enabled")).data
        assert "relay-odd-model-a" in enabled and "relay-odd-model-b" not in enabled
        assert (await row(store, off))["status"] == 2


async def test_test_all_runs_in_the_background(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    async with root(relay) as admin:
        good = await one(admin, upstream, new_group(), "mock;tag=ALL")
        manual = await one(admin, upstream, new_group(), "mock;tag=MANUAL", status=2)
        started = await admin.get("/api/channel/test")
        assert started.ok

        async def tested() -> bool:
            return bool((await row(store, good))["test_time"])

        assert await wait_for(tested, 20)
        assert (await row(store, manual))["test_time"] == 0  # manually disabled: skipped
        assert orjson.loads((await row(store, good))["other_info"] or "{}") == {}
