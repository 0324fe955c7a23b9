"""End to end: the token routes (`/api/token/*`) — scoped to the caller, masked listings, key
reveal, validation, and the relay honouring changes (see also test_admin_tokens_live_e2e)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import openai
import orjson
import pytest
from admin_client import AdminClient, Reply, as_user, root
from relay_harness import MockUpstream, RelayServer, Store
from sqlalchemy import text

pytestmark = pytest.mark.integration

MASKED = re.compile(r"^[0-9A-Za-z]{4}\*{10}[0-9A-Za-z]{4}$")


async def create(client: AdminClient, **fields: Any) -> dict[str, Any]:
    """Create a token through the API and return it as the listing shows it."""
    name = fields.pop("name", f"t{uuid.uuid4().hex[:8]}")
    reply = await client.post("/api/token/", {"name": name, **fields})
    assert reply.ok, reply.body
    assert reply.body.get("data") is None  # new-api answers a create with no data
    found = await client.get("/api/token/search", keyword=name)
    (item,) = found.data["items"]
    return dict(item)


async def reveal(client: AdminClient, token_id: int) -> str:
    return str((await client.post(f"/api/token/{token_id}/key")).data["key"])


def refused(reply: Reply) -> str:
    """A business refusal: HTTP 200, success false, with a message; returns the message."""
    assert reply.status == 200 and reply.body["success"] is False, (reply.status, reply.body)
    assert reply.message
    return reply.message


async def test_create_list_mask_reveal_and_use_on_the_relay(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;tag=TK;pt=20;ct=10"}])
    async with await as_user(relay, store, s.user_id) as me:
        item = await create(me, remain_quota=500_000, model_limits="gpt-4o-mini")
        assert item["remain_quota"] == 500_000 and item["used_quota"] == 0
        assert item["status"] == 1 and item["expired_time"] == -1
        assert item["model_limits"] == "gpt-4o-mini" and item["auto_groups"] is None
        key = await reveal(me, item["id"])
        assert len(key) == 48 and key.isalnum()
        assert MASKED.match(item["key"]) and item["key"] == f"{key[:4]}{'*' * 10}{key[-4:]}"

        listing = await me.get("/api/token/", p=1, page_size=100)
        assert listing.data["total"] == 2 and listing.data["page"] == 1
        ids = [row["id"] for row in listing.data["items"]]
        assert ids == sorted(ids, reverse=True) and set(ids) == {s.token_id, item["id"]}
        assert all(MASKED.match(row["key"]) for row in listing.data["items"])
        assert key not in orjson.dumps(listing.body).decode()
        assert s.key not in orjson.dumps(listing.body).decode()
        page2 = await me.get("/api/token/", p=2, page_size=1)
        assert [row["id"] for row in page2.data["items"]] == [s.token_id]

        for query in (key, f"sk-{key}"):
            found = await me.get("/api/token/search", token=query)
            assert [row["id"] for row in found.data["items"]] == [item["id"]]
        assert (await me.get("/api/token/search", token="sk-" + "x" * 48)).data["total"] == 0
        one = await me.get(f"/api/token/{item['id']}")
        assert one.data["key"] == item["key"] and one.data["name"] == item["name"]

        batch = await me.post("/api/token/batch/keys", {"ids": [item["id"], s.token_id]})
        assert batch.data == {"keys": {str(item["id"]): key, str(s.token_id): s.key}}

        async with openai.AsyncOpenAI(
            base_url=relay.base_url, api_key=f"sk-{key}", max_retries=0
        ) as api:
            reply = await api.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
            assert (reply.choices[0].message.content or "").startswith("[TK]")
            with pytest.raises(openai.APIStatusError):  # not in the token's model limits
                await api.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
                )
        # balances shown live from Redis, before the ledger reaches SQL
        live = await me.get(f"/api/token/{item['id']}")
        used = live.data["used_quota"]
        assert used > 0 and live.data["remain_quota"] == 500_000 - used

        # the audit trail names the changes but never a key
        rows = await audit_rows(store, s.user_id)
        assert any("created" in row for row in rows) and any("revealed" in row for row in rows)
        assert not any(key in row or s.key in row for row in rows)


async def audit_rows(store: Store, user_id: int) -> list[str]:
    async with store.engine.connect() as conn:
        result = await conn.execute(
            text("SELECT content, other FROM logs WHERE user_id = :u AND type = 3"), {"u": user_id}
        )
        return [f"{content} {other}" for content, other in result]


async def test_nobody_reaches_another_users_tokens(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    owner = await store.user_with_token(remain=1000, name="owners-token")
    other = await store.user_with_token(role=10)  # an admin: token routes are still self-scoped
    tid = owner.token_id
    async with await as_user(relay, store, other.user_id) as admin, root(relay) as superuser:
        for intruder in (admin, superuser):
            listing = await intruder.get("/api/token/", page_size=100)
            assert tid not in [row["id"] for row in listing.data["items"]]
            found = await intruder.get("/api/token/search", token=f"sk-{owner.key}")
            assert found.data["total"] == 0
            assert (await intruder.get("/api/token/search", keyword="owners-token")).data[
                "total"
            ] == 0
            assert "not found" in refused(await intruder.get(f"/api/token/{tid}"))
            assert "not found" in refused(await intruder.post(f"/api/token/{tid}/key"))
            keys = await intruder.post("/api/token/batch/keys", {"ids": [tid]})
            assert keys.data == {"keys": {}}
            refused(await intruder.put("/api/token/", {"id": tid, "name": "pwned"}))
            refused(await intruder.put("/api/token/", {"id": tid, "status": 2}, status_only=1))
            refused(await intruder.put("/api/token/", {"id": tid, "remain_quota": 10**9}))
            refused(await intruder.delete(f"/api/token/{tid}"))
            assert (await intruder.post("/api/token/batch", {"ids": [tid]})).data == 0
    async with await as_user(relay, store, owner.user_id) as me:
        mine = (await me.get(f"/api/token/{tid}")).data
        assert (mine["name"], mine["status"], mine["remain_quota"]) == ("owners-token", 1, 1000)
        assert await reveal(me, tid) == owner.key


async def test_signed_out_callers_are_refused(relay: RelayServer) -> None:
    async with AdminClient(relay) as anon:
        for reply in (
            await anon.get("/api/token/"),
            await anon.post("/api/token/1/key"),
            await anon.post("/api/token/", {"name": "x"}),
        ):
            assert reply.status == 401 and reply.body["success"] is False


async def test_bad_input_is_refused_with_a_message(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.user_with_token(group="default")
    past = int(time.time()) - 60
    async with await as_user(relay, store, s.user_id) as me:
        raw = await me.call(
            "POST", "/api/token/", headers={"Content-Type": "application/json"}, json=None
        )
        assert raw.ok  # an empty body is an empty token, as new-api binds it
        bad_json = await bad_body(me, "POST", "/api/token/", b'{"name": ')
        assert "JSON" in refused(bad_json)
        assert "JSON" in refused(await bad_body(me, "PUT", "/api/token/", b"[1, 2]"))
        cases: list[tuple[dict[str, Any], str]] = [
            ({"name": "n" * 51}, "too long"),
            ({"name": "令牌" * 9}, "too long"),  # 54 bytes: new-api counts bytes
            ({"remain_quota": -1}, "negative"),
            ({"remain_quota": 10**18}, "exceeds"),
            ({"remain_quota": "100"}, "integer"),
            ({"allow_ips": "10.0.0.1\nnot-an-ip"}, "not-an-ip"),
            ({"allow_ips": "10.0.0.0/33"}, "10.0.0.0/33"),
            ({"group": "no-such-group"}, "no-such-group"),
            ({"group": "auto", "auto_groups": ["no-such-group"]}, "no-such-group"),
            ({"group": "auto", "auto_groups": ["default", "default"]}, "duplicated"),
            ({"expired_time": past}, "expired_time"),
            ({"expired_time": -5}, "expired_time"),
            ({"rate_limit_rpm": -1}, "rate_limit_rpm"),
            ({"unlimited_quota": "yes"}, "unlimited_quota"),
            ({"model_limits": 5}, "model_limits"),
        ]
        for fields, words in cases:
            message = refused(await me.post("/api/token/", {"name": "bad", **fields}))
            assert words in message, (fields, message)
            fields = {"id": s.token_id, **fields}
            message = refused(await me.put("/api/token/", fields))
            assert words in message, (fields, message)
        for body, words in (
            ({"ids": []}, "Invalid parameters"),
            ({"ids": "1"}, "Invalid parameters"),
            ({"ids": list(range(1, 102))}, "maximum is 100"),
        ):
            assert words in refused(await me.post("/api/token/batch/keys", body))
        assert "Invalid" in refused(await me.post("/api/token/batch", {"ids": ["a"]}))
        assert "Invalid" in refused(await me.put("/api/token/", {"id": "x"}))
        status = await me.put("/api/token/", {"id": s.token_id, "status": 9}, status_only=1)
        assert "status" in refused(status)
        assert "id" in refused(await me.get("/api/token/abc"))
        assert "%" in refused(await me.get("/api/token/search", keyword="%%x"))
        names = await me.get("/api/token/", page_size=100)
        assert {row["name"] for row in names.data["items"]} == {"default", ""}
        # valid edge values pass: a CIDR list, auto with a usable group, a future expiry
        ok = await me.post(
            "/api/token/",
            {
                "name": "edge",
                "allow_ips": "10.0.0.0/8, 192.168.1.1\n::1",
                "group": "auto",
                "auto_groups": ["default"],
                "cross_group_retry": True,
                "expired_time": int(time.time()) + 3600,
                "unlimited_quota": True,
                "remain_quota": 0,
            },
        )
        assert ok.ok, ok.body
        edge = (await me.get("/api/token/search", keyword="edge")).data["items"][0]
        assert edge["allow_ips"] == "10.0.0.0/8\n192.168.1.1\n::1"
        assert edge["auto_groups"] == ["default"] and edge["cross_group_retry"] is True
        # leaving the auto group drops its auto settings, as new-api does
        moved = await me.put("/api/token/", {"id": edge["id"], "group": "default"})
        assert moved.data["auto_groups"] is None and moved.data["cross_group_retry"] is False


async def bad_body(client: AdminClient, method: str, path: str, body: bytes) -> Reply:
    assert client._session is not None
    async with client._session.request(
        method,
        client.server.admin_url + path,
        data=body,
        headers={**client.headers(), "Content-Type": "application/json"},
    ) as resp:
        return Reply(resp.status, await resp.json(content_type=None))


async def test_max_user_tokens_option(relay: RelayServer, store: Store) -> None:
    s = await store.user_with_token()
    await store.option("token_setting.max_user_tokens", "2")
    try:
        async with await as_user(relay, store, s.user_id) as me:
            assert (await me.post("/api/token/", {"name": "second"})).ok
            message = refused(await me.post("/api/token/", {"name": "third"}))
            assert "maximum number of tokens (2)" in message
            # deleting one makes room again
            assert (await me.delete(f"/api/token/{s.token_id}")).ok
            assert (await me.post("/api/token/", {"name": "third"})).ok
    finally:
        async with store.engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM options WHERE \"key\" = 'token_setting.max_user_tokens'")
            )


async def test_delete_and_batch_delete(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream)
    other = await store.user_with_token()
    async with await as_user(relay, store, s.user_id) as me:
        extra = [await create(me, remain_quota=100) for _ in range(3)]
        async with openai.AsyncOpenAI(
            base_url=relay.base_url, api_key=s.api_key, max_retries=0
        ) as api:
            await api.models.list()  # the token works (and is cached by the workers)
            assert (await me.delete(f"/api/token/{s.token_id}")).ok
            with pytest.raises(openai.AuthenticationError):
                await api.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
                )
        assert "not found" in refused(await me.get(f"/api/token/{s.token_id}"))
        assert "not found" in refused(await me.delete(f"/api/token/{s.token_id}"))
        ids = [t["id"] for t in extra] + [other.token_id, s.token_id]
        assert (await me.post("/api/token/batch", {"ids": ids})).data == 3
        assert (await me.get("/api/token/")).data == {
            "page": 1,
            "page_size": 10,
            "total": 0,
            "items": [],
        }
        deleted = await store.scalar(
            "SELECT COUNT(*) FROM tokens WHERE user_id = :u AND deleted_at IS NOT NULL",
            u=s.user_id,
        )
        assert deleted == 4
    assert (
        await store.scalar("SELECT deleted_at FROM tokens WHERE id = :i", i=other.token_id) is None
    )
