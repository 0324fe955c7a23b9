"""End to end: admins managing users (list, search, get, create, update, manage, delete) and
the lines they must not cross; quota changes stay exact while the relay bills the user."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import orjson
import pytest
from admin_client import AdminClient, as_user, root
from relay_harness import MockUpstream, RelayServer, Seeded, Store
from relay_http import chat_status

pytestmark = pytest.mark.integration

PASSWORD = "password123"
PRIVILEGE = "Unauthorized, insufficient privileges"
SAME_LEVEL = "No permission to access users of same or higher level"
HIGHER_LEVEL = "No permission to update users of same or higher permission level"


@contextlib.asynccontextmanager
async def admin_client(relay: RelayServer, store: Store) -> AsyncIterator[AdminClient]:
    """A fresh admin (role 10), signed in by its personal access token."""
    admin = await store.user_with_token(role=10)
    async with await as_user(relay, store, admin.user_id) as client:
        yield client


async def test_common_user_cannot_use_admin_routes(relay: RelayServer, store: Store) -> None:
    me, other = await store.user_with_token(), await store.user_with_token()
    async with await as_user(relay, store, me.user_id) as c:
        for method, path, body in (
            ("GET", "/api/user/", None),
            ("GET", f"/api/user/{other.user_id}", None),
            ("POST", "/api/user/", {"username": "sneaky", "password": PASSWORD}),
            ("PUT", "/api/user/", {"id": other.user_id, "username": "renamed"}),
            ("POST", "/api/user/manage", {"id": me.user_id, "action": "add_quota",
                                          "mode": "add", "value": 10**9}),
            ("POST", "/api/user/manage", {"id": me.user_id, "action": "promote"}),
            ("DELETE", f"/api/user/{other.user_id}", None),
        ):  # fmt: skip
            reply = await c.call(method, path, json=body)
            assert reply.message == PRIVILEGE, (method, path, reply.body)
    assert await store.scalar("SELECT role FROM users WHERE id = :id", id=me.user_id) == 1
    assert (await store.balances(me))["user"] in (0, 100_000_000)  # never loaded or untouched


async def test_listing_pages_and_hides_secrets(relay: RelayServer, store: Store) -> None:
    for _ in range(3):
        await store.user_with_token()
    async with admin_client(relay, store) as admin:
        page = (await admin.get("/api/user/", p=1, page_size=2)).data
        assert page["page"] == 1 and page["page_size"] == 2 and len(page["items"]) == 2
        assert page["total"] >= 4
        assert page["items"][0]["id"] > page["items"][1]["id"]  # newest first
        for item in page["items"]:
            assert not {"password", "access_token", "auth_version"} & item.keys()
        asc = (await admin.get("/api/user/", sort_by="id", sort_order="asc")).data["items"]
        assert asc[0]["id"] == 1
        capped = (await admin.get("/api/user/", page_size=1000)).data
        assert capped["page_size"] == 100
        bad = await admin.get("/api/user/", p="x")
        assert not bad.ok and "p must be an integer" in bad.message


async def test_search_by_keyword_role_and_status(relay: RelayServer, store: Store) -> None:
    a = await store.user_with_token(role=10)
    b = await store.user_with_token(status=2)
    name_b = await store.scalar("SELECT username FROM users WHERE id = :id", id=b.user_id)
    async with root(relay) as r:
        found = (await r.get("/api/user/search", keyword=name_b)).data
        assert [u["id"] for u in found["items"]] == [b.user_id]
        by_id = (await r.get("/api/user/search", keyword=str(a.user_id))).data["items"]
        assert a.user_id in [u["id"] for u in by_id]
        admins = (await r.get("/api/user/search", keyword="", role=10)).data["items"]
        assert a.user_id in [u["id"] for u in admins] and {u["role"] for u in admins} == {10}
        disabled = (await r.get("/api/user/search", status=2)).data["items"]
        assert b.user_id in [u["id"] for u in disabled]
        assert (await r.get("/api/user/search", keyword="%")).data["total"] == 0
        assert not (await r.get("/api/user/search", role="admin")).ok


async def test_admin_sees_and_edits_only_lower_roles(relay: RelayServer, store: Store) -> None:
    peer, common = await store.user_with_token(role=10), await store.user_with_token()
    async with admin_client(relay, store) as admin:
        assert (await admin.get("/api/user/1")).message == SAME_LEVEL
        assert (await admin.get(f"/api/user/{peer.user_id}")).message == SAME_LEVEL
        got = (await admin.get(f"/api/user/{common.user_id}")).data
        assert got["id"] == common.user_id and "password" not in got
        for target in (1, peer.user_id):
            edit = await admin.put("/api/user/", {"id": target, "username": "hijacked"})
            assert edit.message == HIGHER_LEVEL
            for action in ("disable", "delete", "demote"):
                reply = await admin.post("/api/user/manage", {"id": target, "action": action})
                assert reply.message == HIGHER_LEVEL, (target, action)
            add = {"id": target, "action": "add_quota", "mode": "add", "value": 5}
            assert (await admin.post("/api/user/manage", add)).message == HIGHER_LEVEL
            assert (await admin.delete(f"/api/user/{target}")).message == HIGHER_LEVEL
        promote = await admin.post("/api/user/manage", {"id": common.user_id, "action": "promote"})
        assert promote.message == (
            "Regular administrators cannot promote other users to administrator"
        )
    assert await store.scalar("SELECT username FROM users WHERE id = 1") == "root"
    assert await store.scalar("SELECT status FROM users WHERE id = :i", i=peer.user_id) == 1


async def test_root_limits_on_itself(relay: RelayServer) -> None:
    async with root(relay) as r:
        for action, text in (
            ("disable", "Cannot disable super administrator user"),
            ("demote", "Cannot demote super administrator user"),
            ("delete", "Cannot delete super administrator account"),
        ):
            assert (await r.post("/api/user/manage", {"id": 1, "action": action})).message == text
        assert (await r.delete("/api/user/1")).message == HIGHER_LEVEL
        assert (await r.get("/api/user/self")).ok


async def test_create_user_rules_and_bad_input(relay: RelayServer, store: Store) -> None:
    async with admin_client(relay, store) as admin:
        higher = await admin.post("/api/user/", {"username": "x-adm", "password": PASSWORD,
                                                 "role": 10})  # fmt: skip
        assert higher.message == (
            "Cannot create users with permission level equal to or higher than yourself"
        )
        for bad, text in (
            ({"username": "u" * 21, "password": PASSWORD}, "at most 20"),
            ({"username": "shorty", "password": "short"}, "at least 8"),
            ({"username": "roly", "password": PASSWORD, "role": 5}, "role must be"),
            ({"username": "typed", "password": PASSWORD, "role": "1"}, "must be an integer"),
            ({"username": "named", "password": PASSWORD, "display_name": "d" * 21}, "display"),
            ({"password": PASSWORD}, "username is required"),
        ):
            reply = await admin.post("/api/user/", bad)
            assert not reply.ok and text in reply.message, (bad, reply.body)
        not_json = await admin.call("POST", "/api/user/", headers={"Content-Type": "x"})
        assert not not_json.ok
        created = await admin.post(
            "/api/user/", {"username": "made-by-admin", "password": PASSWORD, "display_name": "M"}
        )
        assert created.ok, created.body  # fmt: skip
        dup = await admin.post("/api/user/", {"username": "made-by-admin", "password": PASSWORD})
        assert dup.message == "Username already exists or has been deleted"
    async with root(relay) as r:
        made = await r.post("/api/user/", {"username": "made-admin", "password": PASSWORD,
                                           "role": 10})  # fmt: skip
        assert made.ok
        found = (await r.get("/api/user/search", keyword="made-admin")).data["items"]
        assert [(u["role"], u["display_name"]) for u in found] == [(10, "made-admin")]
    async with AdminClient(relay) as c:
        assert (await c.login("made-by-admin", PASSWORD)).data["display_name"] == "M"


async def test_update_user(relay: RelayServer, store: Store) -> None:
    target, other = await store.user_with_token(), await store.user_with_token()
    other_name = await store.scalar("SELECT username FROM users WHERE id = :i", i=other.user_id)
    base = {"id": target.user_id, "username": f"edited{target.user_id}"}
    async with admin_client(relay, store) as admin:
        ok = await admin.put("/api/user/", {**base, "display_name": "Ed", "group": "vip",
                                            "remark": "note", "quota": 1})  # fmt: skip
        assert ok.ok, ok.body
        got = (await admin.get(f"/api/user/{target.user_id}")).data
        assert (got["username"], got["display_name"], got["group"], got["remark"]) == (
            base["username"], "Ed", "vip", "note",
        )  # fmt: skip
        assert got["quota"] == 100_000_000  # quota is not edited here
        for bad, text in (
            ({**base, "role": 10}, "role changes through"),
            ({**base, "username": other_name}, "already exists"),
            ({**base, "group": ""}, "group"),
            ({**base, "remark": "r" * 256}, "remark"),
            ({**base, "password": "short"}, "at least 8"),
            ({"username": "no-id"}, "id is required"),
            ({**base, "id": 10**8}, "User does not exist"),
        ):
            reply = await admin.put("/api/user/", bad)
            assert not reply.ok and text in reply.message, (bad, reply.body)
        assert (await admin.put("/api/user/", {**base, "password": "brand-new-pw"})).ok
    async with AdminClient(relay) as c:
        assert (await c.login(str(base["username"]), "brand-new-pw")).ok
    audit = await store.scalar(
        "SELECT other FROM logs WHERE type = 3 AND content LIKE :c ORDER BY id DESC LIMIT 1",
        c=f"%user.update user #{target.user_id}",
    )
    assert "brand-new-pw" not in audit and orjson.loads(audit)["after"]["password_changed"]


async def test_disable_enable_delete_reach_the_relay(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream)
    assert await chat_status(relay, s.api_key) == 200
    async with admin_client(relay, store) as admin:

        async def manage(action: str) -> None:
            reply = await admin.post("/api/user/manage", {"id": s.user_id, "action": action})
            assert reply.ok, reply.body

        await manage("disable")
        assert await chat_status(relay, s.api_key) == 403
        async with AdminClient(relay) as c:
            name = await store.scalar("SELECT username FROM users WHERE id = :i", i=s.user_id)
            assert not (await c.login(name, PASSWORD)).ok
        await manage("enable")
        assert await chat_status(relay, s.api_key) == 200
        assert (await admin.delete(f"/api/user/{s.user_id}")).ok
        assert await chat_status(relay, s.api_key) == 401
        assert (await admin.get(f"/api/user/{s.user_id}")).message == "User does not exist"
        deleted = (await admin.get("/api/user/search", status=-1)).data["items"]
        assert any(u["id"] == s.user_id and u["DeletedAt"] for u in deleted)
        again = await admin.post("/api/user/manage", {"id": s.user_id, "action": "enable"})
        assert again.message == "User does not exist"
    actions = await store.scalar(
        "SELECT COUNT(*) FROM logs WHERE type = 3 AND content LIKE :c", c=f"%user #{s.user_id}"
    )
    assert actions == 3


async def test_promote_and_demote_by_root(relay: RelayServer, store: Store) -> None:
    u = await store.user_with_token()
    async with root(relay) as r:
        promoted = await r.post("/api/user/manage", {"id": u.user_id, "action": "promote"})
        assert promoted.data == {"role": 10, "status": 1}
        again = await r.post("/api/user/manage", {"id": u.user_id, "action": "promote"})
        assert again.message == "This user is already an administrator"
        async with await as_user(relay, store, u.user_id) as now_admin:
            assert (await now_admin.get("/api/user/")).ok
            demoted = await r.post("/api/user/manage", {"id": u.user_id, "action": "demote"})
            assert demoted.data == {"role": 1, "status": 1}
            assert (await now_admin.get("/api/user/")).message == PRIVILEGE
        for bad in ({"id": u.user_id, "action": "explode"}, {"id": u.user_id}, {"action": "x"}):
            reply = await r.post("/api/user/manage", bad)
            assert not reply.ok and "Invalid parameters" in reply.message


async def test_quota_modes_and_bad_values(relay: RelayServer, store: Store) -> None:
    u = await store.user_with_token(quota=1000)
    async with root(relay) as r:

        async def adjust(mode: str, value: object) -> str:
            body = {"id": u.user_id, "action": "add_quota", "mode": mode, "value": value}
            reply = await r.post("/api/user/manage", body)
            return "" if reply.ok else reply.message

        assert await adjust("add", 500) == ""
        assert await adjust("subtract", 200) == ""
        assert (await store.balances(u))["user"] == 1300
        assert await adjust("override", 7000) == ""
        assert await adjust("add", 0) == "Quota change amount cannot be zero"
        assert await adjust("subtract", -5) == "Quota change amount cannot be zero"
        assert "must not be negative" in await adjust("override", -1)
        assert "must be an integer" in await adjust("add", "lots")
        assert "mode must be" in await adjust("double", 2)
        assert (await r.get(f"/api/user/{u.user_id}")).data["quota"] == 7000
    await store.wait_drained()
    assert await store.scalar("SELECT quota FROM users WHERE id = :i", i=u.user_id) == 7000


async def test_quota_changes_stay_exact_under_relay_load(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    start = 40_000_000
    s = await store.scenario(
        upstream, channels=[{"key": "mock;delay=150;pt=120;ct=80"}], quota=start
    )
    changes = [("add", 1_000_000), ("subtract", 300_000), ("add", 77_777), ("subtract", 1_234)]

    async def admin_side() -> int:
        total = 0
        async with root(relay) as r:
            for mode, value in changes:
                await asyncio.sleep(0.03)
                body = {"id": s.user_id, "action": "add_quota", "mode": mode, "value": value}
                assert (await r.post("/api/user/manage", body)).ok
                total += value if mode == "add" else -value
        return total

    results = await asyncio.gather(
        admin_side(), *(chat_status(relay, s.api_key) for _ in range(30))
    )
    adjusted, statuses = results[0], results[1:]
    assert statuses == [200] * 30
    await store.wait_drained()
    billed = await store.scalar(
        "SELECT SUM(quota) FROM logs WHERE token_id = :t AND type = 2", t=s.token_id
    )
    assert billed > 0
    expected = start + adjusted - int(billed)
    live = await store.balances(Seeded(s.user_id, s.token_id, s.key))
    assert live["user"] == expected and live["user_held"] == 0
    assert await store.scalar("SELECT quota FROM users WHERE id = :i", i=s.user_id) == expected
