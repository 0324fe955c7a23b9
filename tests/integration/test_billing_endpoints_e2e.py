"""End to end: the OpenAI-style billing endpoints key-checker tools call, as new-api answers them.

subscription: A = (remain + used) / QuotaPerUnit for the token (or the user when
DisplayTokenStatEnabled is off), 100000000 for an unlimited token; usage: used / QuotaPerUnit * 100.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from relay_harness import MockUpstream, RelayServer, Scenario, Store
from relay_http import refused, send

pytestmark = pytest.mark.integration

QUOTA_PER_UNIT = 500_000
SUBSCRIPTION = ("/v1/dashboard/billing/subscription", "/dashboard/billing/subscription")
USAGE = ("/v1/dashboard/billing/usage", "/dashboard/billing/usage")
# gpt-4o-mini: model ratio 0.075, completion ratio 4 → (1000 + 500 * 4) * 0.075 = 225 quota.
UPSTREAM = "mock;pt=1000;ct=500"
CALL_QUOTA = 225


async def get(relay: RelayServer, path: str, api_key: str, **params: str) -> dict[str, Any]:
    reply = await send(relay, path, method="GET", key=api_key, params=params or None)
    assert reply.status == 200, reply.body
    assert reply.headers["X-Oneapi-Request-Id"]
    assert isinstance(reply.body, dict)
    return reply.body


async def subscription(relay: RelayServer, api_key: str) -> dict[str, Any]:
    """The subscription, checked to be the same under /v1 and without it."""
    first, second = [await get(relay, path, api_key) for path in SUBSCRIPTION]
    assert first == second
    return first


async def usage(relay: RelayServer, api_key: str) -> float:
    dates = {"start_date": "2023-01-01", "end_date": "2023-02-01"}  # ignored, as in new-api
    bodies = [await get(relay, path, api_key, **dates) for path in USAGE]
    for body in bodies:
        assert set(body) == {"object", "total_usage"} and body["object"] == "list"
    assert bodies[0] == bodies[1]
    return float(bodies[0]["total_usage"])


def expected_subscription(amount: float, access_until: int) -> dict[str, Any]:
    return {
        "object": "billing_subscription",
        "has_payment_method": True,
        "soft_limit_usd": amount,
        "hard_limit_usd": amount,
        "system_hard_limit_usd": amount,
        "access_until": access_until,
    }


async def chat(relay: RelayServer, s: Scenario) -> None:
    async with openai.AsyncOpenAI(base_url=relay.base_url, api_key=s.api_key, max_retries=0) as api:
        await api.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "bill me"}]
        )


@pytest.fixture
async def option(store: Store) -> AsyncIterator[Any]:
    """Set options for one test; each is put back to its default afterwards."""
    changed: dict[str, str] = {}

    async def set_option(key: str, value: str, default: str) -> None:
        changed.setdefault(key, default)
        await store.option(key, value)
        await store.publish_routing()

    yield set_option
    for key, default in changed.items():
        await store.option(key, default)
    if changed:
        await store.publish_routing()


async def test_limited_token_subscription_and_usage(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    until = int(time.time()) + 86_400
    s = await store.scenario(
        upstream, channels=[{"key": UPSTREAM}], remain=2_500_000, expired_time=until
    )
    assert await subscription(relay, s.api_key) == expected_subscription(5.0, until)
    assert await usage(relay, s.api_key) == 0
    for calls in (1, 2):
        await chat(relay, s)
        used = (await store.balances(s))["token_used"]
        assert used == calls * CALL_QUOTA
        assert await usage(relay, s.api_key) == used / QUOTA_PER_UNIT * 100
        # remain went down by what used went up: the total granted is unchanged.
        assert await subscription(relay, s.api_key) == expected_subscription(5.0, until)


async def test_never_expiring_and_unlimited_tokens(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": UPSTREAM}], remain=1_000_000)
    assert await subscription(relay, s.api_key) == expected_subscription(2.0, 0)
    u = await store.scenario(upstream, channels=[{"key": UPSTREAM}], remain=0, unlimited_quota=True)
    assert await subscription(relay, u.api_key) == expected_subscription(100_000_000, 0)
    await chat(relay, u)
    assert await usage(relay, u.api_key) == CALL_QUOTA / QUOTA_PER_UNIT * 100
    assert await subscription(relay, u.api_key) == expected_subscription(100_000_000, 0)


async def test_quota_display_type(
    relay: RelayServer, store: Store, upstream: MockUpstream, option: Any
) -> None:
    s = await store.scenario(upstream, channels=[{"key": UPSTREAM}], remain=2_500_000)
    await chat(relay, s)
    await option("general_setting.quota_display_type", "TOKENS", "USD")
    assert await subscription(relay, s.api_key) == expected_subscription(2_500_000, 0)
    assert await usage(relay, s.api_key) == CALL_QUOTA * 100
    await option("general_setting.quota_display_type", "CNY", "USD")
    assert await subscription(relay, s.api_key) == expected_subscription(5.0 * 7.3, 0)
    assert await usage(relay, s.api_key) == CALL_QUOTA / QUOTA_PER_UNIT * 7.3 * 100


async def test_display_token_stat_off_reports_the_user(
    relay: RelayServer, store: Store, upstream: MockUpstream, option: Any
) -> None:
    until = int(time.time()) + 3_600
    s = await store.scenario(
        upstream,
        channels=[{"key": UPSTREAM}],
        quota=7_500_000,
        remain=0,
        unlimited_quota=True,
        expired_time=until,
    )
    await chat(relay, s)
    await option("DisplayTokenStatEnabled", "false", "true")
    # The user's quota plus used (15 USD), not the unlimited token's 100000000; new-api
    # leaves access_until at 0 when it reads the user.
    assert await subscription(relay, s.api_key) == expected_subscription(15.0, 0)
    assert await usage(relay, s.api_key) == CALL_QUOTA / QUOTA_PER_UNIT * 100
    balances = await store.balances(s)
    assert balances["user"] == 7_500_000 - CALL_QUOTA


async def test_billing_endpoints_refuse_bad_tokens(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    exhausted = await store.scenario(upstream, remain=0)
    expired = await store.scenario(upstream, expired_time=int(time.time()) - 5)
    for path in SUBSCRIPTION + USAGE:
        for key in (None, "sk-unknown", exhausted.api_key, expired.api_key):
            reply = await send(relay, path, method="GET", key=key)
            assert refused(reply, 401) == "Invalid token", (path, key)
        reply = await send(
            relay, path, method="GET", key="sk-unknown", headers={"Accept-Language": "zh-CN"}
        )
        assert refused(reply, 401) == "无效的令牌"
