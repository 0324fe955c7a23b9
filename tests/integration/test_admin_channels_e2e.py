"""End to end: the channel routes of the admin API (`/api/channel/*`) on a real `relay serve`."""

from __future__ import annotations

import re
import time

import openai
import orjson
import pytest
from admin_channels import chat, create, enabled_abilities, info_of, key_of, new_group, one, row
from admin_client import AdminClient, as_user, give_access_token, root
from relay_harness import MockUpstream, RelayServer, Store
from sqlalchemy import text

from relay.admin.routes import channels_batch, channels_crud, channels_keys, channels_ops

pytestmark = pytest.mark.integration


async def test_every_channel_route_refuses_a_common_user(relay: RelayServer, store: Store) -> None:
    seeded = await store.user_with_token()
    token = await give_access_token(store, seeded.user_id)
    routes = [
        r
        for m in (channels_crud, channels_batch, channels_keys, channels_ops)
        for r in m.api.routes
    ]
    assert len(routes) == 25
    async with AdminClient(relay, token=token, user_id=seeded.user_id) as user:
        for route in routes:
            path = re.sub(r"{\w+}", "1", route.path)
            reply = await user.call(route.method, path, json={"ids": [1], "tag": "t"})
            assert reply.status == 200 and not reply.ok, (route.path, reply.body)
            assert "insufficient privileges" in reply.message, (route.path, reply.body)
    admin_user = await store.user_with_token(role=10)
    async with await as_user(relay, store, admin_user.user_id) as admin:
        assert (await admin.get("/api/channel/")).ok


async def test_created_channel_serves_relay_traffic_within_a_second(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    group = new_group()
    user = await store.user_with_token(group=group)
    async with root(relay) as admin:
        channel_id = await one(admin, upstream, group, "mock;tag=NEW")
        assert (await row(store, channel_id))["key"].startswith("enc:v1:")
        assert await enabled_abilities(store, channel_id) == 1
    deadline = time.monotonic() + 1.0
    while True:  # every worker reloads on the event; a worker still loading answers 503
        try:
            text = await chat(relay, user.api_key)
            break
        except openai.APIStatusError:
            if time.monotonic() > deadline:
                raise
    assert text.startswith("[NEW]")
    for _ in range(6):  # fresh connections land on both workers
        assert (await chat(relay, user.api_key)).startswith("[NEW]")


async def test_bad_input_is_refused_with_a_message(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    group = new_group()
    base = {"type": 1, "key": "mock", "models": "gpt-4o-mini", "group": group}
    cases = {
        "model_mapping": {**base, "model_mapping": "{not json"},
        "param_override": {**base, "param_override": "[1, 2"},
        "status_code_mapping": {**base, "status_code_mapping": '{"429": "abc"}'},
        "header_override": {**base, "header_override": '{"X-A": 1}'},
        "not supported": {**base, "type": 999},
        "models must not be empty": {**base, "models": " , "},
        "key must not be empty": {**base, "key": "  "},
        "loops": {**base, "model_mapping": '{"a": "b", "b": "a"}'},
        "base_url": {**base, "base_url": "ftp://example.com"},
        "weight": {**base, "weight": -1},
        "status": {**base, "status": 3},
    }
    async with root(relay) as admin:
        before = await store.scalar("SELECT COUNT(*) FROM channels")
        for expected, channel in cases.items():
            reply = await admin.post("/api/channel/", {"mode": "single", "channel": channel})
            assert reply.status == 200 and not reply.ok, (expected, reply.body)
            assert expected in reply.message, (expected, reply.message)
        reply = await admin.post("/api/channel/", {"mode": "weird", "channel": base})
        assert not reply.ok and "mode" in reply.message
        reply = await admin.call("POST", "/api/channel/", headers={"Content-Type": "text/plain"})
        assert not reply.ok
        assert await store.scalar("SELECT COUNT(*) FROM channels") == before

        channel_id = await one(admin, upstream, group)
        for body, expected in (
            ({"id": channel_id, "status": 2}, "status"),
            ({"id": channel_id, "model_mapping": "{"}, "model_mapping"),
            ({"id": channel_id, "models": ""}, "models"),
            ({"id": channel_id, "type": 999}, "not supported"),
            ({"id": 10**8, "name": "x"}, "not found"),
            ({"name": "no id"}, "id"),
        ):
            reply = await admin.put("/api/channel/", body)
            assert not reply.ok and expected in reply.message, (body, reply.body)
        echoed = {"id": channel_id, "status": 1, "name": "echo", "priority": None}
        assert (await admin.put("/api/channel/", echoed)).data["name"] == "echo"
        for path, body in (
            (f"/api/channel/{channel_id}/status", {"status": 3}),
            ("/api/channel/status/batch", {"ids": [], "status": 1}),
            ("/api/channel/batch", {"ids": ["x"]}),
        ):
            reply = await admin.post(path, body)
            assert not reply.ok and "invalid parameters" in reply.message, (path, reply.body)
        assert not (await admin.get("/api/channel/abc")).ok


async def test_keys_never_appear_in_listings_or_audit_rows(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    group = new_group()
    secret = "mock;tag=SECRET-7f3a9c"
    async with root(relay) as admin:
        channel_id = await one(admin, upstream, group, secret, tag="secret-tag")
        update = await admin.put("/api/channel/", {"id": channel_id, "key": secret + ";x=1"})
        assert update.ok and "key" not in update.data
        replies = [
            await admin.get("/api/channel/", page_size=100),
            await admin.get("/api/channel/", tag_mode="true", page_size=100),
            await admin.get("/api/channel/search", keyword=str(channel_id)),
            await admin.get(f"/api/channel/{channel_id}"),
            update,
        ]
        for reply in replies:
            assert reply.ok
            assert "SECRET-7f3a9c" not in orjson.dumps(reply.body).decode()
        item = (await admin.get(f"/api/channel/{channel_id}")).data
        assert "key" not in item and item["group"] == group and item["tag"] == "secret-tag"
    assert await key_of(store, channel_id) == secret + ";x=1"
    audit = await store.scalar(
        "SELECT COUNT(*) FROM logs WHERE type = 3 AND other LIKE :t", t=f'%"#{channel_id}"%'
    )
    assert audit >= 2
    leaked = await store.scalar(
        "SELECT COUNT(*) FROM logs WHERE other LIKE '%SECRET-7f3a9c%' OR content LIKE '%SECRET%'"
    )
    assert leaked == 0


async def test_batch_and_multi_key_creation(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    group = new_group()
    user = await store.user_with_token(group=group)
    async with root(relay) as admin:
        ids = await create(
            admin, upstream, group, "mock;tag=B1\n\n mock;tag=B2 \nmock;tag=B3\n", "batch"
        )
        assert len(ids) == 3
        assert [await key_of(store, i) for i in ids] == [
            "mock;tag=B1",
            "mock;tag=B2",
            "mock;tag=B3",
        ]
        assert [(await info_of(store, i))["is_multi_key"] for i in ids] == [False] * 3
        await admin.post("/api/channel/batch", {"ids": ids})
        multi = await one(
            admin, upstream, group, "mock;tag=M1\nmock;tag=M2", mode="multi_to_single",
            multi_key_mode="polling",
        )  # fmt: skip
        info = await info_of(store, multi)
        assert info["is_multi_key"] and info["multi_key_size"] == 2
        assert info["multi_key_mode"] == "polling"
        tags = {(await chat(relay, user.api_key))[:4] for _ in range(8)}
        assert tags == {"[M1]", "[M2]"}
        appended = await admin.put(
            "/api/channel/", {"id": multi, "key": "mock;tag=M2\nmock;tag=M3", "key_mode": "append"}
        )
        assert appended.ok and appended.data["channel_info"]["multi_key_size"] == 3
        assert await key_of(store, multi) == "mock;tag=M1\nmock;tag=M2\nmock;tag=M3"
        kept = await admin.put("/api/channel/", {"id": multi, "key": "", "priority": 7})
        assert kept.ok and kept.data["priority"] == 7
        assert (await key_of(store, multi)).count("\n") == 2
        replaced = await admin.put(
            "/api/channel/", {"id": multi, "key": "mock;tag=R1", "key_mode": "replace"}
        )
        assert replaced.data["channel_info"]["multi_key_size"] == 1
        assert await key_of(store, multi) == "mock;tag=R1"


async def test_listing_filters_sorting_and_search(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    group = new_group()
    async with root(relay) as admin:
        a = await one(admin, upstream, group, name="alpha-x", priority=5, tag=f"{group}-t")
        b = await one(admin, upstream, group, name="beta-x", priority=9, type=43)
        c = await one(admin, upstream, group, name="gamma-x", models="gpt-4o", status=2)
        page = (await admin.get("/api/channel/", group=group)).data
        assert page["total"] == 3 and page["page"] == 1 and page["page_size"] == 10
        assert [i["id"] for i in page["items"]] == [b, a, c]  # priority, highest first
        assert page["type_counts"] == {"1": 2, "43": 1}
        ids = [
            i["id"]
            for i in (await admin.get("/api/channel/", group=group, id_sort="true")).data["items"]
        ]
        assert ids == [c, b, a]
        by_name = await admin.get("/api/channel/", group=group, sort_by="name", sort_order="asc")
        assert [i["name"] for i in by_name.data["items"]] == ["alpha-x", "beta-x", "gamma-x"]
        enabled = (await admin.get("/api/channel/", group=group, status="enabled")).data
        assert {i["id"] for i in enabled["items"]} == {a, b} and enabled["total"] == 2
        disabled = (await admin.get("/api/channel/", group=group, status="0")).data
        assert [i["id"] for i in disabled["items"]] == [c]
        typed = (await admin.get("/api/channel/", group=group, type="43")).data
        assert [i["id"] for i in typed["items"]] == [b] and typed["type_counts"]["1"] == 2
        paged = (await admin.get("/api/channel/", group=group, page_size=2, p=2)).data
        assert [i["id"] for i in paged["items"]] == [c] and paged["total"] == 3
        tagged = (await admin.get("/api/channel/", group=group, tag_mode="1")).data
        assert tagged["total"] == 1 and [i["id"] for i in tagged["items"]] == [a]

        found = (await admin.get("/api/channel/search", keyword="-x", group=group)).data
        assert {i["id"] for i in found["items"]} == {a, b, c} and found["total"] == 3
        assert found["type_counts"] == {"1": 2, "43": 1}
        by_model = await admin.get("/api/channel/search", keyword="", model="gpt-4o", group=group)
        assert {i["id"] for i in by_model.data["items"]} == {a, b, c}  # "gpt-4o-mini" contains it
        by_id = await admin.get("/api/channel/search", keyword=str(b))  # also in names, URLs
        assert b in [i["id"] for i in by_id.data["items"]]
        by_name = await admin.get("/api/channel/search", keyword="beta-x")
        assert [i["id"] for i in by_name.data["items"]] == [b]
        small = await admin.get(
            "/api/channel/search", keyword="-x", group=group, type="1", status="1"
        )
        assert [i["id"] for i in small.data["items"]] == [a]


async def test_status_delete_copy_and_fix(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    group = new_group()
    async with root(relay) as admin:
        channel_id = await one(admin, upstream, group, "mock;tag=C", models="gpt-4o-mini,gpt-4o")
        assert (await admin.post(f"/api/channel/{channel_id}/status", {"status": 2})).data is True
        assert (await admin.post(f"/api/channel/{channel_id}/status", {"status": 2})).data is False
        current = await row(store, channel_id)
        assert current["status"] == 2
        assert orjson.loads(current["other_info"])["status_reason"] == "manual operation"
        assert await enabled_abilities(store, channel_id) == 0
        assert (await admin.post(f"/api/channel/{channel_id}/status", {"status": 1})).data is True
        assert await enabled_abilities(store, channel_id) == 2

        copied = await admin.post(f"/api/channel/copy/{channel_id}")
        copy_id = copied.data["id"]
        copy = await row(store, copy_id)
        assert copy["name"] == (await row(store, channel_id))["name"] + "_复制"
        assert await key_of(store, copy_id) == "mock;tag=C"
        assert copy["test_time"] == 0 and await enabled_abilities(store, copy_id) == 2
        named = await admin.call("POST", f"/api/channel/copy/{channel_id}", params={"suffix": "-b"})
        assert (await row(store, named.data["id"]))["name"].endswith("-b")

        async with store.engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM abilities WHERE channel_id = :id"), {"id": copy_id}
            )
        assert await enabled_abilities(store, copy_id) == 0
        fixed = await admin.post("/api/channel/fix")
        assert fixed.ok and fixed.data["success"] >= 3
        assert await enabled_abilities(store, copy_id) == 2

        assert (await admin.delete(f"/api/channel/{copy_id}")).ok
        assert (await admin.get(f"/api/channel/{copy_id}")).message == "channel not found"
        assert (
            await store.scalar("SELECT COUNT(*) FROM abilities WHERE channel_id = :id", id=copy_id)
            == 0
        )
        assert not (await admin.delete(f"/api/channel/{copy_id}")).ok
        assert not (await admin.post("/api/channel/copy/999999999")).ok
