"""End to end: single sign-on against a real (test) OpenID Connect provider.

The browser is an aiohttp session with its own cookie jar; the provider auto-approves its
configured user and redirects back with a code, as a real one does after the user signs in.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from admin_client import ROOT_PASSWORD, AdminClient, root
from oidc_provider import FAULTS, OidcProvider
from relay_harness import RelayServer, Store

pytestmark = pytest.mark.integration

OIDC_OPTIONS = {
    "oidc.client_id": "relay-test-client",
    "oidc.client_secret": "relay-test-client-secret-0123456789abcdef",
    "oidc.allowed_domains": "example.com, corp.example",
    "oidc.default_group": "sso-team",
}


@dataclass
class Answer:
    status: int
    body: Any
    location: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200 and isinstance(self.body, dict) and bool(self.body["success"])


class Browser:
    """A cookie-keeping client that does not follow redirects (so each step is visible)."""

    def __init__(self, relay: RelayServer) -> None:
        self.relay = relay
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def get(self, url: str, headers: dict[str, str] | None = None) -> Answer:
        if url.startswith("/"):
            url = self.relay.admin_url + url
        async with self.http.get(url, allow_redirects=False, headers=headers) as resp:
            body = await resp.json(content_type=None) if resp.status != 302 else None
            return Answer(resp.status, body, resp.headers.get("Location", ""))

    async def approve(self, authorize_url: str) -> tuple[str, str, str]:
        """The provider's sign-in page: → (redirect_uri, code, state)."""
        answer = await self.get(authorize_url)
        assert answer.status == 302, answer
        parts = urlsplit(answer.location)
        query = parse_qs(parts.query)
        return f"{parts.scheme}://{parts.netloc}{parts.path}", query["code"][0], query["state"][0]

    async def sso(self) -> Answer:
        """Relay's redirect (with a nonce) → provider → the callback API."""
        start = await self.get("/api/oauth/oidc/authorize")
        assert start.status == 302, start
        redirect_uri, code, state = await self.approve(start.location)
        assert redirect_uri == f"{self.relay.admin_url}/oauth/oidc"
        return await self.get("/api/oauth/oidc?" + urlencode({"code": code, "state": state}))

    async def console_sso(self, provider: OidcProvider) -> Answer:
        """new-api's console flow: state from the API, the authorize URL built client-side."""
        state = (await self.get("/api/oauth/state?provider=oidc")).body["data"]
        query = {
            "client_id": provider.client_id,
            "redirect_uri": f"{self.relay.admin_url}/oauth/oidc",
            "response_type": "code",
            "scope": "openid email profile",
            "state": state,
        }
        _, code, state = await self.approve(f"{provider.issuer}/authorize?{urlencode(query)}")
        return await self.get("/api/oauth/oidc?" + urlencode({"code": code, "state": state}))

    async def close(self) -> None:
        await self.http.close()


@pytest.fixture(scope="module")
async def provider(relay: RelayServer) -> AsyncIterator[OidcProvider]:
    idp = await OidcProvider().start()
    settings = {**OIDC_OPTIONS, "oidc.discovery_url": idp.discovery_url, "oidc.enabled": True}
    async with root(relay) as admin:
        for key, value in settings.items():
            assert (await admin.put("/api/option/", {"key": key, "value": value})).ok, key
    yield idp
    async with root(relay) as admin:
        for key in ("oidc.enabled", *OIDC_OPTIONS, "oidc.discovery_url"):
            value: Any = False if key == "oidc.enabled" else ""
            if key == "oidc.default_group":
                value = "default"
            assert (await admin.put("/api/option/", {"key": key, "value": value})).ok, key
    await idp.stop()


@pytest.fixture
async def browser(relay: RelayServer) -> AsyncIterator[Browser]:
    b = Browser(relay)
    yield b
    await b.close()


def person(domain: str = "example.com", **extra: Any) -> dict[str, Any]:
    name = f"sso{uuid.uuid4().hex[:8]}"
    return {
        "sub": f"sub-{uuid.uuid4().hex}",
        "email": f"{name}@{domain}",
        "email_verified": True,
        "preferred_username": name,
        "name": f"SSO {name}",
        **extra,
    }


async def users_with_subject(store: Store, sub: str) -> int:
    return int(await store.scalar("SELECT COUNT(*) FROM users WHERE oidc_id = :s", s=sub))


async def test_first_login_creates_the_user_and_the_second_finds_it(
    relay: RelayServer, store: Store, provider: OidcProvider, browser: Browser
) -> None:
    provider.user = person()
    first = await browser.sso()
    assert first.ok, first.body
    user = first.body["data"]
    assert user["username"] == provider.user["preferred_username"]
    assert user["group"] == "sso-team" and user["role"] == 1 and user["status"] == 1
    # the session cookie works like password login's
    me = await browser.get("/api/user/self", headers={"New-Api-User": str(user["id"])})
    assert me.ok and me.body["data"]["username"] == user["username"]
    assert me.body["data"]["email"] == provider.user["email"]
    second_browser = Browser(relay)
    try:
        second = await second_browser.console_sso(provider)  # new-api console flow, no nonce
    finally:
        await second_browser.close()
    assert second.ok and second.body["data"]["id"] == user["id"]
    assert await users_with_subject(store, provider.user["sub"]) == 1


async def test_same_name_gets_a_unique_username(
    store: Store, provider: OidcProvider, browser: Browser, relay: RelayServer
) -> None:
    provider.user = person()
    first = await browser.sso()
    assert first.ok
    provider.user = {**person(), "preferred_username": provider.user["preferred_username"]}
    other = Browser(relay)
    try:
        second = await other.sso()
    finally:
        await other.close()
    assert second.ok, second.body
    assert second.body["data"]["id"] != first.body["data"]["id"]
    assert second.body["data"]["username"] == first.body["data"]["username"] + "2"


async def test_a_disallowed_or_unverified_domain_is_refused(
    store: Store, provider: OidcProvider, browser: Browser
) -> None:
    provider.user = person(domain="elsewhere.test")
    refused = await browser.sso()
    assert not refused.ok and "domain is not allowed" in refused.body["message"]
    provider.user = person(email_verified=False)
    unverified = await browser.sso()
    assert not unverified.ok and "domain is not allowed" in unverified.body["message"]
    assert await users_with_subject(store, provider.user["sub"]) == 0


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("tamper", "invalid"),
        ("unsigned", "accepted algorithm"),
        ("foreign_key", "invalid"),
        ("hs256", "accepted algorithm"),
        ("wrong_aud", "another client"),
        ("expired", "expired"),
        ("wrong_iss", "another provider"),
        ("bad_nonce", "nonce"),
    ],
)
async def test_a_bad_id_token_is_refused(
    store: Store, provider: OidcProvider, browser: Browser, fault: str, message: str
) -> None:
    assert fault in FAULTS
    provider.user = person()
    provider.fault = fault
    try:
        answer = await browser.sso()
    finally:
        provider.fault = ""
    assert answer.status == 200 and answer.body["success"] is False
    assert message in answer.body["message"], answer.body
    assert await users_with_subject(store, provider.user["sub"]) == 0
    assert await users_with_subject(store, "forged-subject") == 0


async def test_the_state_is_bound_to_the_browser_and_used_once(
    relay: RelayServer, provider: OidcProvider, browser: Browser
) -> None:
    provider.user = person()
    start = await browser.get("/api/oauth/oidc/authorize")
    _, code, state = await browser.approve(start.location)
    thief = Browser(relay)  # same code and state, another browser (no state cookie)
    try:
        stolen = await thief.get("/api/oauth/oidc?" + urlencode({"code": code, "state": state}))
    finally:
        await thief.close()
    assert stolen.status == 403 and "State" in stolen.body["message"]
    callback = "/api/oauth/oidc?" + urlencode({"code": code, "state": state})
    assert (await browser.get(callback)).ok
    replay = await browser.get(callback)
    assert replay.status == 403 and not replay.body["success"]
    missing = await browser.get("/api/oauth/oidc?code=x")
    assert missing.status == 403


async def test_password_login_off_refuses_passwords_but_not_sso(
    relay: RelayServer, provider: OidcProvider, browser: Browser
) -> None:
    async with root(relay) as admin:
        switch = {"key": "PasswordLoginEnabled", "value": False}
        assert (await admin.put("/api/option/", switch)).ok
        try:
            async with AdminClient(relay) as console:
                refused = await console.login("root", ROOT_PASSWORD)
            assert not refused.ok and "disabled" in refused.message
            status = await browser.get("/api/status")
            assert status.body["data"]["password_login_enabled"] is False
            provider.user = person()
            assert (await browser.sso()).ok
        finally:
            assert (await admin.put("/api/option/", {**switch, "value": True})).ok
        async with AdminClient(relay) as console:
            assert (await console.login("root", ROOT_PASSWORD)).ok


async def test_registration_switches_stop_new_users_only(
    relay: RelayServer, store: Store, provider: OidcProvider, browser: Browser
) -> None:
    provider.user = known = person()
    assert (await browser.sso()).ok
    async with root(relay) as admin:
        switch = {"key": "oidc.auto_register", "value": False}
        assert (await admin.put("/api/option/", switch)).ok
        try:
            provider.user = person()
            refused = await browser.sso()
            assert not refused.ok and "registration" in refused.body["message"]
            assert await users_with_subject(store, provider.user["sub"]) == 0
            provider.user = known
            assert (await browser.sso()).ok
        finally:
            assert (await admin.put("/api/option/", {**switch, "value": True})).ok


async def test_client_secret_post_and_a_disabled_provider(
    relay: RelayServer, provider: OidcProvider, browser: Browser
) -> None:
    post_only = await OidcProvider(auth_methods=("client_secret_post",)).start()
    post_only.user = person()
    async with root(relay) as admin:
        url = {"key": "oidc.discovery_url", "value": post_only.discovery_url}
        assert (await admin.put("/api/option/", url)).ok
        try:
            assert (await browser.sso()).ok
            assert post_only.token_auth_seen == ["client_secret_post"]
            assert (await admin.put("/api/option/", {"key": "oidc.enabled", "value": False})).ok
            off = await browser.get("/api/oauth/oidc/authorize")
            assert off.status == 200 and "not been enabled" in off.body["message"]
        finally:
            url["value"] = provider.discovery_url
            assert (await admin.put("/api/option/", url)).ok
            assert (await admin.put("/api/option/", {"key": "oidc.enabled", "value": True})).ok
            await post_only.stop()


async def test_a_subject_longer_than_the_column_still_finds_its_user(
    relay: RelayServer, store: Store, provider: OidcProvider, browser: Browser
) -> None:
    provider.user = person(sub=f"long|{uuid.uuid4().hex * 4}")  # 133 characters
    first = await browser.sso()
    assert first.ok, first.body
    again = Browser(relay)
    try:
        second = await again.sso()
    finally:
        await again.close()
    assert second.ok and second.body["data"]["id"] == first.body["data"]["id"]
    stored = await store.scalar(
        "SELECT oidc_id FROM users WHERE id = :id", id=first.body["data"]["id"]
    )
    assert len(stored) == 64 and stored.startswith("h:")
