"""End to end: the options API (root only) — listing, validation, audit, and a ratio change
reaching every worker within a second."""

from __future__ import annotations

import asyncio
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import openai
import orjson
import pytest
from admin_client import AdminClient, Reply, as_user, root
from relay_harness import MockUpstream, RelayServer, Store

pytestmark = pytest.mark.integration


def as_dict(reply: Reply) -> dict[str, str]:
    return {item["key"]: item["value"] for item in reply.data}


def quota_for(prompt: int, completion: int, model_ratio: str, completion_ratio: str) -> int:
    value = (Decimal(prompt) + Decimal(completion) * Decimal(completion_ratio)) * Decimal(
        model_ratio
    )
    return max(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)), 1)


async def put(admin: AdminClient, key: str, value: Any) -> Reply:
    return await admin.put("/api/option/", {"key": key, "value": value})


async def test_listing_has_defaults_meta_and_hides_secrets(relay: RelayServer) -> None:
    async with root(relay) as admin:
        assert (await put(admin, "oidc.client_secret", "listing-secret-xyz")).ok
        assert (await put(admin, "SMTPToken", "smtp-secret-xyz")).ok
        try:
            reply = await admin.get("/api/option/")
            options = as_dict(reply)
        finally:
            await put(admin, "oidc.client_secret", "")
            await put(admin, "SMTPToken", "")
    assert all(isinstance(item["value"], str) for item in reply.data)
    assert options["RetryTimes"] == "0"
    assert options["PasswordLoginEnabled"] == "true"
    assert options["oidc.default_group"] == "default"
    assert options["token_setting.max_user_tokens"] == "1000"
    assert orjson.loads(options["ModelRatio"])["gpt-4o-mini"] == 0.075
    for hidden in ("oidc.client_secret", "SMTPToken"):
        assert hidden not in options
    assert "listing-secret-xyz" not in str(reply.body)
    assert not [k for k in options if k.endswith(("Token", "Secret", "Key", "secret", "api_key"))]
    meta = orjson.loads(options["CompletionRatioMeta"])
    assert meta["gpt-4o-mini"] == {"ratio": 4, "locked": False}
    assert meta["o1"]["locked"] is True


async def test_only_root_reads_or_changes_options(relay: RelayServer, store: Store) -> None:
    admin_user = await store.user_with_token(role=10)
    async with await as_user(relay, store, admin_user.user_id) as admin:
        for reply in (
            await admin.get("/api/option/"),
            await put(admin, "RetryTimes", 3),
            await admin.post("/api/option/rest_model_ratio"),
        ):
            assert not reply.ok and "privilege" in reply.message
    async with AdminClient(relay) as anon:
        assert (await anon.get("/api/option/")).status == 401
    async with root(relay) as admin:
        assert as_dict(await admin.get("/api/option/"))["RetryTimes"] == "0"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ModelRatio", "{not json", "not valid JSON"),
        ("ModelRatio", '{"gpt-4o": -1}', "must not be negative"),
        ("GroupRatio", "[1, 2]", "JSON object"),
        ("general_setting.quota_display_type", "EUR", "USD, CNY, TOKENS or CUSTOM"),
        ("RetryTimes", "many", "not an integer"),
        ("QuotaPerUnit", 0, "greater than 0"),
        ("AutomaticRetryStatusCodes", "700", "100-599"),
        ("oidc.discovery_url", "ftp://idp", "http"),
        ("NoSuchOption", "1", "unknown option"),
        ("GitHubOAuthEnabled", True, "does not support"),
        ("payment_setting.compliance_confirmed", "true", "compliance"),
        ("RetryTimes", None, "value is required"),
        ("", "1", "key is required"),
        ("CompletionRatioMeta", "{}", "computed"),
    ],
)
async def test_bad_values_are_refused_with_a_message(
    relay: RelayServer, key: str, value: Any, message: str
) -> None:
    async with root(relay) as admin:
        before = as_dict(await admin.get("/api/option/"))
        reply = await put(admin, key, value)
        assert reply.status == 200 and reply.body["success"] is False
        assert message in reply.message, reply.message
        assert as_dict(await admin.get("/api/option/")) == before


async def test_enabling_oidc_needs_client_id_and_discovery_url(relay: RelayServer) -> None:
    async with root(relay) as admin:
        reply = await put(admin, "oidc.enabled", True)
        assert not reply.ok and "oidc.client_id" in reply.message
        assert (await put(admin, "oidc.client_id", "relay-console")).ok
        assert not (await put(admin, "oidc.enabled", "true")).ok
        assert (await put(admin, "oidc.discovery_url", "https://idp.example/.well-known/x")).ok
        try:
            assert (await put(admin, "oidc.enabled", True)).ok
            status = await admin.get("/api/status")
            assert status.data["oidc_enabled"] is True
        finally:
            for key, value in (("oidc.enabled", False), ("oidc.client_id", "")):
                assert (await put(admin, key, value)).ok
            assert (await put(admin, "oidc.discovery_url", "")).ok


async def test_values_are_stored_as_strings_and_audited(relay: RelayServer, store: Store) -> None:
    async with root(relay) as admin:
        try:
            assert (await put(admin, "DemoSiteEnabled", 1)).ok  # stored as "true"
            assert (await put(admin, "USDExchangeRate", 7.25)).ok
            assert (await put(admin, "QuotaForNewUser", 1500)).ok
            assert (await put(admin, "oidc.client_secret", "audit-secret-123")).ok
            options = as_dict(await admin.get("/api/option/"))
            assert options["DemoSiteEnabled"] == "true"
            assert options["USDExchangeRate"] == "7.25"
            assert options["QuotaForNewUser"] == "1500"
            assert (await admin.get("/api/status")).data["demo_site_enabled"] is True
        finally:
            for key, value in (
                ("DemoSiteEnabled", False),
                ("USDExchangeRate", "7.3"),
                ("QuotaForNewUser", 0),
                ("oidc.client_secret", ""),
            ):
                assert (await put(admin, key, value)).ok
    stored = await store.scalar("SELECT value FROM options WHERE key = 'DemoSiteEnabled'")
    assert stored == "false"
    audit = await store.scalar(
        "SELECT other FROM logs WHERE type = 3 AND content LIKE '%update option QuotaForNewUser'"
        " ORDER BY id DESC LIMIT 1"
    )
    assert audit is not None
    entry = orjson.loads(audit)
    assert entry["admin_info"]["actor_id"] == 1 and entry["after"]["value"] == "0"
    assert entry["before"]["value"] == "1500"
    secret_rows = await store.scalar(
        "SELECT COUNT(*) FROM logs WHERE type = 3 AND content LIKE '%oidc.client_secret'"
    )
    assert secret_rows >= 2
    leaked = await store.scalar("SELECT COUNT(*) FROM logs WHERE other LIKE '%audit-secret-123%'")
    assert leaked == 0


async def _call(relay: RelayServer, api_key: str) -> None:
    # a fresh client (and connection) per call, so calls land on different workers
    async with openai.AsyncOpenAI(base_url=relay.base_url, api_key=api_key, max_retries=0) as api:
        await api.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "price me"}]
        )


async def test_ratio_change_reaches_every_worker_within_a_second(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;pt=100;ct=50"}])
    default_quota = quota_for(100, 50, "0.075", "4")
    await _call(relay, s.api_key)
    assert (await store.balances(s))["token_used"] == default_quota
    async with root(relay) as admin:
        table = orjson.loads(as_dict(await admin.get("/api/option/"))["ModelRatio"])
        table["gpt-4o-mini"] = 0.5
        try:
            assert (await put(admin, "ModelRatio", orjson.dumps(table).decode())).ok
            await asyncio.sleep(1.0)
            for _ in range(6):
                await _call(relay, s.api_key)
            expected = default_quota + 6 * quota_for(100, 50, "0.5", "4")
            assert (await store.balances(s))["token_used"] == expected
        finally:
            reset = await admin.post("/api/option/rest_model_ratio")
        assert reset.ok
        assert await store.scalar("SELECT COUNT(*) FROM options WHERE key = 'ModelRatio'") == 0
        listed = orjson.loads(as_dict(await admin.get("/api/option/"))["ModelRatio"])
        assert listed["gpt-4o-mini"] == 0.075
    await asyncio.sleep(1.0)
    await _call(relay, s.api_key)
    assert (await store.balances(s))["token_used"] == expected + default_quota
    audit = await store.scalar(
        "SELECT content FROM logs WHERE type = 3 AND content LIKE '%reset model ratios%'"
        " ORDER BY id DESC LIMIT 1"
    )
    assert audit is not None and "ModelRatio" in audit
