"""End to end: first-run setup, login/logout cookies, registration, one's own account, the
personal access token, usable groups and models (new-api's account routes)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import openai
import orjson
import pytest
from admin_client import ROOT_PASSWORD, AdminClient, Reply, give_access_token, root
from relay_harness import MockUpstream, RelayServer, Store, fresh_backend, running
from sqlalchemy import text

from relay.admin.api import Limit
from relay.admin.app import all_routes

pytestmark = pytest.mark.integration

PASSWORD = "password123"


async def username_of(store: Store, user_id: int) -> str:
    return str(await store.scalar("SELECT username FROM users WHERE id = :id", id=user_id))


@contextlib.asynccontextmanager
async def signed_in(relay: RelayServer, store: Store, user_id: int) -> AsyncIterator[AdminClient]:
    async with AdminClient(relay) as client:
        assert (await client.login(await username_of(store, user_id), PASSWORD)).ok
        yield client


@contextlib.asynccontextmanager
async def option(store: Store, key: str, value: str) -> AsyncIterator[None]:
    """Set an option for a block; afterwards restore its row (or its absence)."""
    old = await store.scalar('SELECT value FROM options WHERE "key" = :k', k=key)
    await store.option(key, value)
    try:
        yield
    finally:
        if old is None:
            async with store.engine.begin() as conn:
                await conn.execute(text('DELETE FROM options WHERE "key" = :k'), {"k": key})
        else:
            await store.option(key, old)


async def test_setup_wizard_creates_root_once_then_refuses(
    relay: RelayServer, tmp_path: Path
) -> None:
    with fresh_backend(relay.backend) as backend:
        server = RelayServer(
            backend=backend,
            data_dir=tmp_path / "data",
            workers=1,
            extra_env={
                "INITIAL_ROOT_PASSWORD": "",
                "INITIAL_ROOT_ACCESS_TOKEN": "",
                "GENERATE_DEFAULT_TOKEN": "true",
            },
        )
        async with running(server), AdminClient(server) as anon:
            before = await anon.get("/api/setup")
            assert before.data["status"] is False and before.data["root_init"] is False
            assert before.data["database_type"] in ("sqlite", "postgres")
            good = {"username": "boss", "password": "s3cret-pass", "confirmPassword": "s3cret-pass"}
            for bad, text in (
                ({**good, "username": "x" * 13}, "at most 12"),
                ({**good, "confirmPassword": "other-pass"}, "do not match"),
                ({**good, "password": "short", "confirmPassword": "short"}, "at least 8"),
                ({**good, "username": ""}, "username"),
                ({**good, "DemoSiteEnabled": "yes"}, "true or false"),
            ):
                reply = await anon.post("/api/setup", bad)
                assert not reply.ok and text in reply.message, reply.body
            created = await anon.post("/api/setup", {**good, "SelfUseModeEnabled": True})
            assert created.ok, created.body
            again = await anon.post("/api/setup", {**good, "username": "boss2"})
            assert not again.ok and "already been initialized" in again.message
            after = await anon.get("/api/setup")
            assert after.data == {"status": True, "root_init": False, "database_type": ""}
            assert (await anon.get("/api/status")).data["self_use_mode_enabled"] is True
            me = await anon.login("boss", "s3cret-pass")
            assert me.ok and me.data["role"] == 100
            self_data = (await anon.get("/api/user/self")).data
            assert self_data["quota"] == 100_000_000 and self_data["display_name"] == "Root User"
            # a registration on this server gets the default token (GENERATE_DEFAULT_TOKEN)
            async with AdminClient(server) as newcomer:
                reg = {"username": "newbie", "password": PASSWORD}
                assert (await newcomer.post("/api/user/register", reg)).ok
                assert (await newcomer.login("newbie", PASSWORD)).ok
                tokens = await newcomer.get("/api/token/")
                assert tokens.ok, tokens.body
                items = tokens.data["items"] if isinstance(tokens.data, dict) else tokens.data
                assert [t["name"] for t in items] == ["default"]
                assert items[0]["unlimited_quota"] is True and items[0]["expired_time"] == -1
        assert server.proc is not None and server.proc.returncode == 0, server.log()
        assert "Traceback" not in server.log(), server.log()


async def login_raw(
    relay: RelayServer, username: str, password: str, headers: dict[str, str] | None = None
) -> tuple[Reply, list[str]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{relay.admin_url}/api/user/login",
            json={"username": username, "password": password},
            headers=headers or {},
        ) as resp,
    ):
        return Reply(resp.status, await resp.json()), resp.headers.getall("Set-Cookie", [])


async def test_login_sets_a_strict_session_cookie(relay: RelayServer) -> None:
    reply, cookies = await login_raw(relay, "root", ROOT_PASSWORD)
    assert reply.data == {
        "id": 1, "username": "root", "display_name": "Root User", "role": 100, "status": 1,
        "group": "default",
    }  # fmt: skip
    (cookie,) = cookies
    attrs = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith("session=") and {"httponly", "path", "max-age"} <= attrs
    assert "samesite=strict" in cookie.lower() and "max-age=2592000" in cookie.lower()
    assert "secure" not in attrs
    _, over_tls = await login_raw(relay, "root", ROOT_PASSWORD, {"X-Forwarded-Proto": "https"})
    assert "secure" in {p.strip().lower() for p in over_tls[0].split(";")}
    assert await root_last_login(relay) > 0


async def root_last_login(relay: RelayServer) -> int:
    async with root(relay) as admin:
        return int((await admin.get("/api/user/1")).data["last_login_at"])


async def test_login_refusals(relay: RelayServer, store: Store) -> None:
    seeded = await store.user_with_token(status=2)
    name = await username_of(store, seeded.user_id)
    async with AdminClient(relay) as c:
        wrong = "Username or password is incorrect, or user has been banned"
        assert (await c.login(name, PASSWORD)).message == wrong  # disabled user
        assert (await c.login("root", "not-the-password")).message == wrong
        assert (await c.login("nobody-here", PASSWORD)).message == wrong
        assert (await c.login("", PASSWORD)).message == "Username or password is empty"
        missing = await c.post("/api/user/login", {"username": "root"})
        assert not missing.ok and missing.message
        bad_json = await c.call("POST", "/api/user/login", headers={"Content-Type": "text/plain"})
        assert not bad_json.ok
        async with (
            aiohttp.ClientSession() as http,
            http.post(relay.admin_url + "/api/user/login", data=b"{not json") as resp,
        ):
            body = await resp.json()
        assert resp.status == 200 and body["success"] is False and "JSON" in body["message"]
        async with option(store, "PasswordLoginEnabled", "false"):
            off = await c.login("root", ROOT_PASSWORD)
            assert off.message == "Password login has been disabled by administrator"


async def test_login_by_email_never_shadows_a_username(relay: RelayServer, store: Store) -> None:
    victim, other = await store.user_with_token(), await store.user_with_token()
    victim_name = await username_of(store, victim.user_id)
    async with store.engine.begin() as conn:  # e-mails are set by verified flows (OIDC, ...)
        for uid, email in ((other.user_id, victim_name), (victim.user_id, "v@example.com")):
            await conn.execute(
                text("UPDATE users SET email = :e WHERE id = :i"), {"e": email, "i": uid}
            )
    async with AdminClient(relay) as c:
        assert (await c.login("v@example.com", PASSWORD)).data["id"] == victim.user_id
        assert (await c.login(victim_name, PASSWORD)).data["id"] == victim.user_id


async def test_logout_and_password_change_end_sessions(relay: RelayServer, store: Store) -> None:
    seeded = await store.user_with_token()
    async with (
        signed_in(relay, store, seeded.user_id) as a,
        signed_in(relay, store, seeded.user_id) as b,
    ):
        assert (await a.get("/api/user/self")).ok and (await b.get("/api/user/self")).ok
        wrong = await a.put(
            "/api/user/self", {"password": "new-password-1", "original_password": "nope"}
        )
        assert wrong.message == "Original password is incorrect"
        short = await a.put("/api/user/self", {"password": "x", "original_password": PASSWORD})
        assert not short.ok and "at least 8" in short.message
        changed = await a.put(
            "/api/user/self", {"password": "new-password-1", "original_password": PASSWORD}
        )
        assert changed.ok, changed.body
        assert (await a.get("/api/user/self")).ok  # the changing session carries on
        stale = await b.get("/api/user/self")
        assert stale.status == 401  # every other session ended
        assert (await b.login(await username_of(store, seeded.user_id), "new-password-1")).ok
        assert (await b.get("/api/user/logout")).ok
        assert (await b.get("/api/user/self")).status == 401


async def test_register_follows_the_options(relay: RelayServer, store: Store) -> None:
    async with AdminClient(relay) as anon:
        inviter = await store.user_with_token()
        async with signed_in(relay, store, inviter.user_id) as inv:
            aff = (await inv.get("/api/user/aff")).data
            assert len(aff) == 4 and (await inv.get("/api/user/aff")).data == aff
        body = {"username": "reg-alice", "password": PASSWORD, "aff_code": aff}
        async with option(store, "RegisterEnabled", "false"):
            reply = await anon.post("/api/user/register", body)
            assert reply.message == "New user registration has been disabled by administrator"
        async with option(store, "PasswordRegisterEnabled", "false"):
            reply = await anon.post("/api/user/register", body)
            assert not reply.ok and "Password registration has been disabled" in reply.message
        for bad, text in (
            ({**body, "username": "u" * 21}, "at most 20"),
            ({**body, "password": "short"}, "at least 8"),
            ({**body, "password": "p" * 21}, "at most 20"),
            ({**body, "username": 5}, "must be a string"),
            ({"password": PASSWORD}, "username is required"),
        ):
            reply = await anon.post("/api/user/register", bad)
            assert not reply.ok and text in reply.message, (bad, reply.body)
        async with option(store, "QuotaForNewUser", "1234"):
            assert (await anon.post("/api/user/register", body)).ok
        taken = await anon.post("/api/user/register", body)
        assert taken.message == "Username already exists or has been deleted"
        me = await anon.login("reg-alice", PASSWORD)
        assert me.ok and me.data["role"] == 1
        data = (await anon.get("/api/user/self")).data
        assert data["quota"] == 1234 and data["inviter_id"] == inviter.user_id
        assert not await store.scalar(
            "SELECT COUNT(*) FROM tokens WHERE user_id = :id", id=me.data["id"]
        )  # no GENERATE_DEFAULT_TOKEN on this server
        assert (
            await store.scalar("SELECT aff_count FROM users WHERE id = :id", id=inviter.user_id)
            == 1
        )


async def test_self_shows_no_secrets_and_live_quota(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;pt=57;ct=34"}], quota=5_000_000)
    async with openai.AsyncOpenAI(base_url=relay.base_url, api_key=s.api_key, max_retries=0) as c:
        await c.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    async with signed_in(relay, store, s.user_id) as me:
        data = (await me.get("/api/user/self")).data
    assert not {"password", "access_token", "auth_version"} & data.keys()
    assert data["used_quota"] == 14 and data["quota"] == 5_000_000 - 14  # before any drain
    assert data["group"] == s.group and data["permissions"]["sidebar_modules"] == {"admin": False}


async def test_update_and_delete_self(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream)
    async with signed_in(relay, store, s.user_id) as me:
        assert (await me.put("/api/user/self", {"display_name": "New Name"})).ok
        assert (await me.get("/api/user/self")).data["display_name"] == "New Name"
        too_long = await me.put("/api/user/self", {"display_name": "n" * 21})
        assert not too_long.ok and "display_name" in too_long.message
        sidebar = await me.put("/api/user/self", {"sidebar_modules": '{"chat":false}'})
        assert sidebar.ok
        assert (await me.get("/api/user/self")).data["sidebar_modules"] == '{"chat":false}'
        assert (await me.delete("/api/user/self")).ok
        assert (await me.get("/api/user/self")).status == 401
        assert not (await me.login(await username_of(store, s.user_id), PASSWORD)).ok
    async with openai.AsyncOpenAI(base_url=relay.base_url, api_key=s.api_key, max_retries=0) as c:
        with pytest.raises(openai.AuthenticationError):
            await c.models.list()
    async with root(relay) as admin:
        refused = await admin.delete("/api/user/self")
        assert refused.message == "Cannot delete super administrator account"


async def test_notification_setting_saved_shown_and_read_by_workers(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, models=("acct-unpriced-model",))

    async def listed() -> set[str]:
        async with openai.AsyncOpenAI(
            base_url=relay.base_url, api_key=s.api_key, max_retries=0
        ) as c:
            return {m.id async for m in c.models.list()}

    assert "acct-unpriced-model" not in await listed()
    hook = {
        "notify_type": "webhook",
        "quota_warning_threshold": 250000,
        "webhook_url": "https://hooks.example/relay",
        "webhook_secret": "hook-secret",
        "bark_url": "https://bark.example/dropped",
        "upstream_model_update_notify_enabled": True,  # a common user cannot turn it on
        "accept_unset_model_ratio_model": True,
    }
    async with signed_in(relay, store, s.user_id) as me:
        assert (await me.put("/api/user/self", {"sidebar_modules": '{"chat":false}'})).ok
        saved = await me.put("/api/user/setting", hook)
        assert saved.ok and saved.message == "Settings updated"
        data = (await me.get("/api/user/self")).data
        assert orjson.loads(data["setting"]) == {
            "sidebar_modules": '{"chat":false}',
            "notify_type": "webhook",
            "quota_warning_threshold": 250000,
            "webhook_url": "https://hooks.example/relay",
            "webhook_secret": "hook-secret",
            "gotify_priority": 0,
            "accept_unset_model_ratio_model": True,
        }
        assert data["sidebar_modules"] == '{"chat":false}'
        for body, message in (
            ({**hook, "webhook_url": ""}, "Webhook URL cannot be empty"),
            ({**hook, "notify_type": "pager"}, "Invalid warning type"),
            ({**hook, "quota_warning_threshold": 0}, "Warning threshold must be greater than 0"),
            ({"notify_type": "bark", "quota_warning_threshold": 1, "bark_url": "ftp://b"},
             "URL must start with http:// or https://"),
            ({**hook, "record_ip_log": "yes"}, "Invalid parameters"),
        ):  # fmt: skip
            refused = await me.put("/api/user/setting", body)
            assert refused.status == 200 and not refused.ok and refused.message == message
        assert orjson.loads((await me.get("/api/user/self")).data["setting"])["webhook_url"]
    assert "acct-unpriced-model" in await listed()  # the workers see the new setting
    audit = await store.scalar(
        "SELECT other FROM logs WHERE type = 3 AND content LIKE :c ORDER BY id DESC LIMIT 1",
        c=f"%user.setting user #{s.user_id}",
    )
    assert "hook-secret" not in audit and "hooks.example" not in audit
    assert orjson.loads(audit)["after"]["notify_type"] == "webhook"
    async with root(relay) as admin:
        body = {"notify_type": "email", "quota_warning_threshold": 1}
        on = {**body, "upstream_model_update_notify_enabled": True}
        assert (await admin.put("/api/user/setting", on)).ok
        setting = orjson.loads((await admin.get("/api/user/self")).data["setting"])
        assert setting["upstream_model_update_notify_enabled"] is True
    async with AdminClient(relay) as anon:
        assert (await anon.put("/api/user/setting", hook)).status == 401


async def test_personal_access_token_rotates(relay: RelayServer, store: Store) -> None:
    seeded = await store.user_with_token()
    async with signed_in(relay, store, seeded.user_id) as me:
        first = (await me.get("/api/user/token")).data
        second = (await me.get("/api/user/token")).data
    assert first != second and 28 <= len(second) <= 32
    digest = await store.scalar("SELECT access_token FROM users WHERE id = :id", id=seeded.user_id)
    assert digest == store.keyring.lookup_digest(second)
    async with AdminClient(relay, token=second, user_id=seeded.user_id) as by_token:
        assert (await by_token.get("/api/user/self")).data["id"] == seeded.user_id
    async with AdminClient(relay, token=first) as old:
        stale = await old.get("/api/user/self")
        assert not stale.ok and stale.message == "Unauthorized, invalid access token"


async def test_common_user_cannot_read_other_accounts(relay: RelayServer, store: Store) -> None:
    me, other = await store.user_with_token(), await store.user_with_token()
    token = await give_access_token(store, me.user_id)
    async with AdminClient(relay, token=token, user_id=me.user_id) as c:
        for path in (f"/api/user/{other.user_id}", "/api/user/", "/api/user/search"):
            reply = await c.get(path)
            assert reply.message == "Unauthorized, insufficient privileges", path
        assert (await c.get("/api/user/self")).data["id"] == me.user_id
    async with AdminClient(relay, token=token, user_id=other.user_id) as spoof:
        assert (await spoof.get("/api/user/self")).status == 401
    async with AdminClient(relay) as anon:
        assert (await anon.get("/api/user/self")).status == 401
        assert (await anon.get("/api/user/token")).status == 401


async def test_usable_groups_and_models(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, models=("acct-m1", "acct-m2"))
    async with signed_in(relay, store, s.user_id) as me:
        groups = (await me.get("/api/user/self/groups")).data
        assert groups == (await me.get("/api/user/groups")).data
        # GroupRatio lists default/vip/svip; default and vip are usable, the own group has no
        # ratio of its own and so is not offered
        assert set(groups) == {"default", "vip"} and groups["vip"]["ratio"] == 1
        special = orjson.dumps({s.group: {"vip": 0.5}}).decode()
        usable = orjson.dumps({"default": "Default", "auto": "Pick for me"}).decode()
        async with (
            option(store, "GroupGroupRatio", special),
            option(store, "UserUsableGroups", usable),
        ):
            groups = (await me.get("/api/user/groups")).data
            assert groups["auto"] == {"ratio": "自动", "desc": "Pick for me"}
            assert "vip" not in groups and groups["default"]["desc"] == "Default"
        async with option(store, "GroupGroupRatio", special):
            assert (await me.get("/api/user/groups")).data["vip"]["ratio"] == 0.5
        assert (await me.get("/api/user/models", group=s.group)).data == ["acct-m1", "acct-m2"]
        assert {"acct-m1", "acct-m2"} <= set((await me.get("/api/user/models")).data)
        assert (await me.get("/api/user/models", group="svip")).data == []


def test_sensitive_routes_declare_new_api_rate_limits() -> None:
    """The gate applies these (tested with limits on in test_admin_gate_e2e)."""
    declared = {(r.method, r.path): r.limit for r in all_routes()}
    for method, path in (
        ("POST", "/api/setup"),
        ("POST", "/api/user/login"),
        ("POST", "/api/user/register"),
        ("PUT", "/api/user/self"),
        ("GET", "/api/user/token"),
        ("POST", "/api/user/topup"),
    ):
        assert declared[(method, path)] is Limit.CRITICAL, path
    for path in ("/api/user/search", "/api/redemption/search"):
        assert declared[("GET", path)] is Limit.SEARCH, path
