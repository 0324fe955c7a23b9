"""End to end: channels in bulk (tags, batch status and delete) and multi-key management."""

from __future__ import annotations

import openai
import orjson
import pytest
from admin_channels import chat, create, enabled_abilities, info_of, key_of, new_group, one, row
from admin_client import root
from relay_harness import MockUpstream, RelayServer, Store
from sqlalchemy import text

pytestmark = pytest.mark.integration


async def test_tags_set_disable_enable_and_edit(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    group = new_group()
    tag = f"{group}-tag"
    user = await store.user_with_token(group=group)
    async with root(relay) as admin:
        ids = await create(admin, upstream, group, "mock;tag=T1\nmock;tag=T2", "batch")
        other = await one(admin, upstream, group, "mock;tag=OTHER", priority=-5)
        tagged = await admin.post("/api/channel/batch/tag", {"ids": ids, "tag": tag})
        assert tagged.data == 2
        assert [(await row(store, i))["tag"] for i in ids] == [tag, tag]
        assert await store.scalar("SELECT COUNT(*) FROM abilities WHERE tag = :t", t=tag) == 2

        assert (await admin.post("/api/channel/tag/disabled", {"tag": tag})).ok
        assert [(await row(store, i))["status"] for i in ids] == [2, 2]
        assert (await chat(relay, user.api_key)).startswith("[OTHER]")
        assert (await admin.post("/api/channel/tag/enabled", {"tag": tag})).ok
        assert [await enabled_abilities(store, i) for i in ids] == [1, 1]
        assert (await chat(relay, user.api_key))[:4] in ("[T1]", "[T2]")

        edit = {
            "tag": tag,
            "new_tag": f"{tag}-2",
            "priority": -10,
            "weight": 3,
            "models": "gpt-4o-mini,gpt-4o",
            "groups": group,
            "model_mapping": '{"gpt-4o": "gpt-4o-mini"}',
            "param_override": '{"temperature": 0}',
        }
        assert (await admin.put("/api/channel/tag", edit)).ok
        for channel_id in ids:
            edited = await row(store, channel_id)
            assert edited["tag"] == f"{tag}-2" and edited["priority"] == -10
            assert edited["weight"] == 3 and edited["models"] == "gpt-4o-mini,gpt-4o"
            assert orjson.loads(edited["param_override"]) == {"temperature": 0}
            assert await enabled_abilities(store, channel_id) == 2
        assert (await chat(relay, user.api_key)).startswith("[OTHER]")  # now the higher tier
        mapped = await chat(relay, user.api_key, "gpt-4o")
        assert mapped[:4] in ("[T1]", "[T2]")
        last = (await upstream.calls(f"mock;tag={mapped[1:3]}"))[-1]
        assert last["model"] == "gpt-4o-mini" and last["body"]["temperature"] == 0

        for body, expected in (
            ({"tag": f"{tag}-2", "param_override": "{oops"}, "param_override"),
            ({"tag": f"{tag}-2", "model_mapping": "[]"}, "model_mapping"),
            ({"tag": f"{tag}-2", "header_override": "nope"}, "header_override"),
            ({"tag": ""}, "tag"),
            ({"tag": "no-such-tag", "priority": 1}, "no channel"),
        ):
            reply = await admin.put("/api/channel/tag", body)
            assert not reply.ok and expected in reply.message, (body, reply.body)
        assert not (await admin.post("/api/channel/tag/disabled", {})).ok
        cleared = await admin.post("/api/channel/batch/tag", {"ids": ids, "tag": None})
        assert cleared.ok and (await row(store, ids[0]))["tag"] is None
        assert (await row(store, other))["tag"] is None


async def test_listing_and_search_filter_by_tag(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    group = new_group()
    async with root(relay) as admin:
        ids = await create(admin, upstream, group, "mock;tag=F1\nmock;tag=F2\nmock;tag=F3", "batch")
        assert (await admin.post("/api/channel/batch/tag", {"ids": ids[:2], "tag": group})).ok
        for path, extra in (("/api/channel/", {}), ("/api/channel/search", {"keyword": ""})):
            page = (await admin.get(path, group=group, tag=group, **extra)).data
            assert sorted(c["id"] for c in page["items"]) == ids[:2] and page["total"] == 2, path
            assert sum(page["type_counts"].values()) == 2, path
            grouped = (await admin.get(path, group=group, tag=group, tag_mode="true", **extra)).data
            assert sorted(c["id"] for c in grouped["items"]) == ids[:2], path
            none = (await admin.get(path, group=group, tag=f"{group}-x", **extra)).data
            assert none["items"] == [] and none["total"] == 0, path
            every = (await admin.get(path, group=group, tag="", **extra)).data
            assert every["total"] == 3, path


async def test_batch_status_and_deletes(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    group = new_group()
    user = await store.user_with_token(group=group)
    async with root(relay) as admin:
        ids = await create(admin, upstream, group, "mock;tag=D1\nmock;tag=D2\nmock;tag=D3", "batch")
        changed = await admin.post("/api/channel/status/batch", {"ids": ids, "status": 2})
        assert changed.data == 3
        with pytest.raises(openai.APIStatusError) as refused:
            await chat(relay, user.api_key)
        assert refused.value.status_code == 503
        again = await admin.post("/api/channel/status/batch", {"ids": ids[:2], "status": 1})
        assert again.data == 2
        assert (await chat(relay, user.api_key))[:4] in ("[D1]", "[D2]")
        async with store.engine.begin() as conn:  # an auto-disabled one, as a health job leaves it
            await conn.execute(
                text("UPDATE channels SET status = 3 WHERE id = :id"), {"id": ids[1]}
            )
        deleted = await admin.delete("/api/channel/disabled")
        assert deleted.ok and deleted.data >= 2
        remaining = {r["id"] for r in (await admin.get("/api/channel/", group=group)).data["items"]}
        assert remaining == {ids[0]}
        assert (
            await store.scalar(
                "SELECT COUNT(*) FROM abilities WHERE channel_id IN (:a, :b)", a=ids[1], b=ids[2]
            )
            == 0
        )
        assert (await admin.post("/api/channel/batch", {"ids": [ids[0], 10**8]})).data == 1
        assert (await admin.get("/api/channel/", group=group)).data["total"] == 0
        audit = await store.scalar(
            "SELECT COUNT(*) FROM logs WHERE type = 3 AND content LIKE '%deleted%'"
        )
        assert audit >= 2


async def test_multi_key_manage(relay: RelayServer, store: Store, upstream: MockUpstream) -> None:
    group = new_group()
    user = await store.user_with_token(group=group)
    keys = "mock;tag=K0\nmock;tag=K1\nmock;tag=K2"
    async with root(relay) as admin:
        channel_id = await one(
            admin, upstream, group, keys, mode="multi_to_single", multi_key_mode="polling"
        )
        single = await one(admin, upstream, new_group())

        async def manage(action: str, **extra: object) -> dict[str, object]:
            reply = await admin.post(
                "/api/channel/multi_key/manage",
                {"channel_id": channel_id, "action": action, **extra},
            )
            assert reply.status == 200
            return dict(reply.body)

        status = await manage("get_key_status")
        assert status["success"] and status["data"]["total"] == 3
        assert status["data"]["enabled_count"] == 3
        previews = [k["key_preview"] for k in status["data"]["keys"]]
        assert previews == ["mock**********g=K0", "mock**********g=K1", "mock**********g=K2"]
        assert "tag=K" not in orjson.dumps(status).decode()

        assert (await manage("disable_key", key_index=1))["message"] == "key disabled"
        seen = {(await chat(relay, user.api_key))[:4] for _ in range(8)}
        assert seen == {"[K0]", "[K2]"}
        assert (await manage("enable_key", key_index=1))["success"]
        assert (await info_of(store, channel_id))["multi_key_status_list"] == {}

        assert (await manage("disable_all_keys"))["message"] == "3 keys disabled"
        with pytest.raises(openai.APIStatusError):  # channel:no_available_key
            await chat(relay, user.api_key)
        assert not (await manage("disable_all_keys"))["success"]
        assert (await manage("enable_all_keys"))["message"] == "3 keys enabled"
        assert (await chat(relay, user.api_key)).startswith("[K")

        await manage("disable_key", key_index=0)
        assert (await manage("delete_key", key_index=1))["success"]
        assert await key_of(store, channel_id) == "mock;tag=K0\nmock;tag=K2"
        info = await info_of(store, channel_id)
        assert info["multi_key_size"] == 2 and info["multi_key_status_list"] == {"0": 2}
        status = await manage("get_key_status", status=2)
        assert [k["index"] for k in status["data"]["keys"]] == [0]
        assert status["data"]["manual_disabled_count"] == 1

        nothing = await manage("delete_disabled_keys")
        assert not nothing["success"] and "automatically disabled" in str(nothing["message"])
        for action, index in (("enable_key", None), ("delete_key", 9)):
            refused = await manage(action, key_index=index)
            assert not refused["success"] and "key_index" in str(refused["message"])
        assert not (await manage("explode"))["success"]
        reply = await admin.post(
            "/api/channel/multi_key/manage", {"channel_id": single, "action": "get_key_status"}
        )
        assert not reply.ok and "not a multi-key channel" in reply.message
        assert (await row(store, channel_id))["status"] == 1
