"""End to end: redemption codes (admin CRUD, search, delete invalid) and topping up with them,
including 20 concurrent redemptions of one code."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from admin_client import AdminClient, as_user, root
from relay_harness import RelayServer, Seeded, Store

from relay.quota import keys

pytestmark = pytest.mark.integration

FAILED = "Redemption failed, please try again later"


async def issue(
    admin: AdminClient, count: int = 1, quota: int = 5000, **extra: object
) -> list[str]:
    reply = await admin.post(
        "/api/redemption/", {"name": "promo", "quota": quota, "count": count, **extra}
    )
    assert reply.ok, reply.body
    return list(reply.data)


async def redemption_id(store: Store, code: str) -> int:
    digest = store.keyring.lookup_digest(code)
    return int(await store.scalar('SELECT id FROM redemptions WHERE "key" = :k', k=digest))


async def test_common_user_cannot_manage_codes(relay: RelayServer, store: Store) -> None:
    user = await store.user_with_token()
    async with await as_user(relay, store, user.user_id) as c:
        for method, path, body in (
            ("GET", "/api/redemption/", None),
            ("GET", "/api/redemption/search", None),
            ("GET", "/api/redemption/1", None),
            ("POST", "/api/redemption/", {"name": "free", "quota": 10**9, "count": 1}),
            ("PUT", "/api/redemption/", {"id": 1, "name": "x", "quota": 1}),
            ("DELETE", "/api/redemption/1", None),
            ("DELETE", "/api/redemption/invalid", None),
        ):
            reply = await c.call(method, path, json=body)
            assert reply.message == "Unauthorized, insufficient privileges", (method, path)
    async with AdminClient(relay) as anon:
        assert (await anon.post("/api/user/topup", {"key": "x" * 32})).status == 401


async def test_codes_are_secrets_at_rest_but_listed_to_admins(
    relay: RelayServer, store: Store
) -> None:
    async with root(relay) as admin:
        codes = await issue(admin, count=3, quota=4321)
        assert len(set(codes)) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", c) for c in codes)
        listed = (await admin.get("/api/redemption/", page_size=100)).data
        by_key = {item["key"]: item for item in listed["items"]}
        assert set(codes) <= set(by_key)
        item = by_key[codes[0]]
        assert (item["name"], item["quota"], item["status"], item["expired_time"]) == (
            "promo", 4321, 1, 0,
        )  # fmt: skip
        assert (await admin.get(f"/api/redemption/{item['id']}")).data["key"] == codes[0]
    for code in codes:
        row_key = await store.scalar(
            'SELECT "key" FROM redemptions WHERE id = :i', i=await redemption_id(store, code)
        )
        assert row_key != code and row_key == store.keyring.lookup_digest(code)
    audit = await store.scalar(
        "SELECT other FROM logs WHERE type = 3 AND content LIKE '%redemption.create%' "
        "ORDER BY id DESC LIMIT 1"
    )
    assert audit and not any(code in audit for code in codes)


async def test_create_and_update_refuse_bad_input(relay: RelayServer) -> None:
    good = {"name": "ok", "quota": 100, "count": 1}
    past = int(time.time()) - 60
    async with root(relay) as admin:
        for bad, text in (
            ({**good, "name": ""}, "name length must be between 1-20"),
            ({**good, "name": "n" * 21}, "name length must be between 1-20"),
            ({**good, "count": 0}, "count must be greater than 0"),
            ({**good, "count": 101}, "Maximum 100 redemption codes"),
            ({**good, "quota": -5}, "quota must be between"),
            ({**good, "quota": 0}, "quota must be between"),
            ({**good, "quota": "lots"}, "must be an integer"),
            ({**good, "expired_time": past}, "cannot be earlier than current time"),
            ({"name": "ok", "count": 1}, "quota is required"),
        ):
            reply = await admin.post("/api/redemption/", bad)
            assert not reply.ok and text in reply.message, (bad, reply.body)
        not_json = await admin.call("POST", "/api/redemption/", headers={"Content-Type": "x"})
        assert not not_json.ok
        (code,) = await issue(admin)
        rid = (await admin.get("/api/redemption/search", keyword="promo")).data["items"][0]["id"]
        for bad, text in (
            ({"id": rid, "name": "", "quota": 1}, "name length"),
            ({"id": rid, "name": "ok", "quota": -1}, "quota must be between"),
            ({"id": rid, "name": "ok", "quota": 1, "expired_time": past}, "earlier than"),
            ({"name": "ok", "quota": 1}, "id is required"),
            ({"id": 10**8, "name": "ok", "quota": 1}, "does not exist"),
        ):
            reply = await admin.put("/api/redemption/", bad)
            assert not reply.ok and text in reply.message, (bad, reply.body)
        status = await admin.put("/api/redemption/", {"id": rid, "status": 3}, status_only="1")
        assert not status.ok and "status must be 1" in status.message
        assert (await admin.get("/api/redemption/abc")).message == "id must be an integer"
        assert (await admin.get("/api/redemption/99999999")).message.endswith("does not exist")
        assert code


async def test_topup_adds_the_quota_once(relay: RelayServer, store: Store) -> None:
    user = await store.user_with_token(quota=1000)
    async with root(relay) as admin, await as_user(relay, store, user.user_id) as me:
        (code,) = await issue(admin, quota=2500)
        assert (await me.post("/api/user/topup", {"key": code})).data == 2500
        assert (await me.post("/api/user/topup", {"key": code})).message == FAILED
        assert (await store.balances(user))["user"] == 3500
        assert (await me.get("/api/user/self")).data["quota"] == 3500
        for bad in ({"key": "0" * 32}, {"key": code.upper()}):
            assert (await me.post("/api/user/topup", bad)).message == FAILED
        for missing in ({}, {"key": ""}, {"key": 12}):
            reply = await me.post("/api/user/topup", missing)
            assert reply.message == "Redemption code not provided"
        rid = await redemption_id(store, code)
        got = (await admin.get(f"/api/redemption/{rid}")).data
        assert (got["status"], got["used_user_id"]) == (3, user.user_id)
        assert got["redeemed_time"] > 0
        reenable = await admin.put("/api/redemption/", {"id": rid, "status": 1}, status_only="1")
        assert reenable.message == "This redemption code has been used"
    await store.wait_drained()
    assert await store.scalar("SELECT quota FROM users WHERE id = :i", i=user.user_id) == 3500
    logs = await store.scalar(
        "SELECT COUNT(*) FROM logs WHERE user_id = :u AND type = 1 AND content LIKE :c",
        u=user.user_id,
        c=f"%code ID {rid}",
    )
    assert logs == 1


async def test_disabled_expired_and_deleted_codes_fail_the_same_way(
    relay: RelayServer, store: Store
) -> None:
    user = await store.user_with_token(quota=0)
    async with root(relay) as admin, await as_user(relay, store, user.user_id) as me:
        disabled, expiring, deleted = await issue(admin, count=3, quota=700)
        rid = await redemption_id(store, disabled)
        off = await admin.put("/api/redemption/", {"id": rid, "status": 2}, status_only="1")
        assert off.ok and off.data["status"] == 2
        assert (await me.post("/api/user/topup", {"key": disabled})).message == FAILED
        assert (await admin.put("/api/redemption/", {"id": rid, "status": 1}, status_only="1")).ok
        edit = {"id": rid, "name": "renamed", "quota": 900, "expired_time": 0}
        assert (await admin.put("/api/redemption/", edit)).data["name"] == "renamed"
        assert (await me.post("/api/user/topup", {"key": disabled})).data == 900
        soon = int(time.time()) + 1
        exp_id = await redemption_id(store, expiring)
        edit = {"id": exp_id, "name": "soon", "quota": 700, "expired_time": soon}
        assert (await admin.put("/api/redemption/", edit)).ok
        await asyncio.sleep(max(0.0, soon + 1.1 - time.time()))
        assert (await me.post("/api/user/topup", {"key": expiring})).message == FAILED
        expired = (await admin.get("/api/redemption/search", status="expired")).data["items"]
        assert exp_id in [r["id"] for r in expired]
        del_id = await redemption_id(store, deleted)
        assert (await admin.delete(f"/api/redemption/{del_id}")).ok
        assert not (await admin.delete(f"/api/redemption/{del_id}")).ok
        assert not (await admin.get(f"/api/redemption/{del_id}")).ok
        assert (await me.post("/api/user/topup", {"key": deleted})).message == FAILED
        (usable,) = await issue(admin)
        removed = await admin.delete("/api/redemption/invalid")
        assert removed.ok and removed.data >= 2  # the used and the expired code at least
        left = {r["id"] for r in (await admin.get("/api/redemption/", page_size=100)).data["items"]}
        assert rid not in left and exp_id not in left
        assert await redemption_id(store, usable) in left
    assert (await store.balances(user))["user"] == 900


async def test_twenty_concurrent_redemptions_of_one_code(relay: RelayServer, store: Store) -> None:
    users: list[Seeded] = [await store.user_with_token(quota=0) for _ in range(4)]
    clients = [await as_user(relay, store, u.user_id) for u in users]
    for c in clients:
        await c.__aenter__()
    try:
        async with root(relay) as admin:
            (code,) = await issue(admin, quota=777)
        replies = await asyncio.gather(
            *(clients[i % 4].post("/api/user/topup", {"key": code}) for i in range(20))
        )
    finally:
        for c in clients:
            await c.__aexit__(None, None, None)
    winners = [r for r in replies if r.ok]
    assert len(winners) == 1 and winners[0].data == 777
    assert all(r.message == FAILED for r in replies if not r.ok)
    live = [(await store.balances(u))["user"] for u in users]
    assert sorted(live) == [0, 0, 0, 777]
    rid = await redemption_id(store, code)
    winner = users[live.index(777)].user_id
    assert await store.scalar("SELECT used_user_id FROM redemptions WHERE id = :i", i=rid) == winner
    await store.wait_drained()
    ids = ",".join(str(u.user_id) for u in users)
    total = await store.scalar(f"SELECT SUM(quota) FROM users WHERE id IN ({ids})")
    assert total == 777
    logs = await store.scalar(
        "SELECT COUNT(*) FROM logs WHERE type = 1 AND content LIKE :c", c=f"%code ID {rid}"
    )
    assert logs == 1


async def test_a_failed_credit_gives_the_code_back(relay: RelayServer, store: Store) -> None:
    user = await store.user_with_token(quota=100)
    key = keys.user_key(user.user_id)
    async with root(relay) as admin, await as_user(relay, store, user.user_id) as me:
        (code,) = await issue(admin, quota=600)
        # A balance Redis can't add to: the credit fails after the code was claimed in SQL.
        await store.redis.hset(key, mapping={"st": 1, "q": "not-a-number", "h": 0, "uq": 0})
        assert (await me.post("/api/user/topup", {"key": code})).message == FAILED
        rid = await redemption_id(store, code)
        got = (await admin.get(f"/api/redemption/{rid}")).data
        assert (got["status"], got["used_user_id"], got["redeemed_time"]) == (1, 0, 0)
        assert not await store.scalar(
            "SELECT COUNT(*) FROM logs WHERE type = 1 AND content LIKE :c", c=f"%code ID {rid}"
        )
        await store.redis.hset(key, "q", 100)
        assert (await me.post("/api/user/topup", {"key": code})).data == 600
    assert (await store.balances(user))["user"] == 700
