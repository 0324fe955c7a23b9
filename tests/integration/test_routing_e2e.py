"""End to end: channel selection, retries, failover and model mapping through a real relay."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import openai
import orjson
import pytest
from relay_harness import MockUpstream, RelayServer, Store, free_port
from sqlalchemy import text

pytestmark = pytest.mark.integration

OPTION_DEFAULTS = {"RetryTimes": "0"}


def client(relay: RelayServer, api_key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=relay.base_url, api_key=api_key, max_retries=0)


def tag() -> str:
    """A unique mock tag, so /_mock/calls can tell this test's calls from all others."""
    return uuid.uuid4().hex[:8]


@contextlib.asynccontextmanager
async def options(store: Store, **values: str) -> AsyncIterator[None]:
    """Set options for the duration of a block and restore the previous values after."""
    before = {
        k: await store.scalar('SELECT value FROM options WHERE "key" = :k', k=k) for k in values
    }
    for k, v in values.items():
        await store.option(k, v)
    await store.publish_routing()
    try:
        yield
    finally:
        for k, old in before.items():
            await store.option(k, OPTION_DEFAULTS.get(k, "") if old is None else old)
        await store.publish_routing()


async def chat(relay: RelayServer, api_key: str, model: str = "gpt-4o-mini") -> Any:
    async with client(relay, api_key) as api:
        return await api.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": "hello"}]
        )


async def chat_error(relay: RelayServer, api_key: str) -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as info:
        await chat(relay, api_key)
    return info.value


def error_of(exc: openai.APIStatusError) -> dict[str, Any]:
    body = exc.body
    assert isinstance(body, dict), body
    if "error" in body:  # the SDK hands over either the whole body or its "error" member
        body = body["error"]
    assert isinstance(body, dict)
    return body


async def log_row(store: Store, request_id: str) -> Any:
    await store.wait_drained()
    async with store.engine.connect() as conn:
        result = await conn.execute(
            text("SELECT * FROM logs WHERE request_id = :rid"), {"rid": request_id}
        )
        return result.mappings().one()


def expected_quota(prompt: int, completion: int, model_ratio: str, completion_ratio: str) -> int:
    value = (Decimal(prompt) + Decimal(completion) * Decimal(completion_ratio)) * Decimal(
        model_ratio
    )
    return max(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)), 1)


async def assert_refunded(store: Store, s: Any, quota: int, remain: int) -> None:
    b = await store.balances(s)
    assert (b["user"], b["token"], b["token_used"]) == (quota, remain, 0)
    assert b["user_held"] == 0 and b["token_held"] == 0


# --- failover and retry rules ------------------------------------------------------------------


async def test_failover_to_lower_priority_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    a, b = f"mock;tag=A;status=500;n={tag()}", f"mock;tag=B;n={tag()}"
    s = await store.scenario(
        upstream, channels=[{"key": a, "priority": 10}, {"key": b, "priority": 0}]
    )
    async with options(store, RetryTimes="1"):
        reply = await chat(relay, s.api_key)
        assert reply.parse().choices[0].message.content.startswith("[B]")
    assert len(await upstream.calls(a)) == 1 and len(await upstream.calls(b)) == 1
    row = await log_row(store, reply.headers["X-Oneapi-Request-Id"])
    assert row["channel_id"] == s.channel_ids[1]
    other = orjson.loads(row["other"])
    assert other["admin_info"]["use_channel"] == [str(c) for c in s.channel_ids]

    # Without retries the client sees A's failure, the upstream's own message kept.
    err = await chat_error(relay, s.api_key)
    assert err.status_code == 500
    assert "mock error 500" in error_of(err)["message"]
    assert len(await upstream.calls(b)) == 1


async def test_400_is_never_retried(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    a, b = f"mock;status=400;n={tag()}", f"mock;tag=B;n={tag()}"
    s = await store.scenario(
        upstream, channels=[{"key": a, "priority": 10}, {"key": b, "priority": 0}]
    )
    async with options(store, RetryTimes="3"):
        err = await chat_error(relay, s.api_key)
    assert err.status_code == 400
    assert "mock error 400" in error_of(err)["message"]
    assert len(await upstream.calls(a)) == 1 and await upstream.calls(b) == []


async def test_429_is_retried(relay: RelayServer, store: Store, upstream: MockUpstream) -> None:
    a, b = f"mock;status=429;n={tag()}", f"mock;tag=B;n={tag()}"
    s = await store.scenario(
        upstream, channels=[{"key": a, "priority": 10}, {"key": b, "priority": 0}]
    )
    async with options(store, RetryTimes="1"):
        reply = await chat(relay, s.api_key)
    assert reply.parse().choices[0].message.content.startswith("[B]")
    assert len(await upstream.calls(a)) == 1


async def test_status_code_mapping_applies_before_the_retry_decision(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    a, b = f"mock;status=500;n={tag()}", f"mock;tag=B;n={tag()}"
    s = await store.scenario(
        upstream,
        channels=[
            {"key": a, "priority": 10, "status_code_mapping": '{"500":"400"}'},
            {"key": b, "priority": 0},
        ],
    )
    async with options(store, RetryTimes="1"):
        err = await chat_error(relay, s.api_key)
    assert err.status_code == 400  # mapped, and 400 is not retried
    assert len(await upstream.calls(a)) == 1 and await upstream.calls(b) == []


async def test_fail_first_succeeds_on_retry_of_the_same_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = f"mock;tag=F;fail_first=1;n={tag()}"
    s = await store.scenario(upstream, channels=[{"key": key}])
    async with options(store, RetryTimes="1"):
        reply = await chat(relay, s.api_key)
    assert reply.parse().choices[0].message.content.startswith("[F]")
    assert len(await upstream.calls(key)) == 2
    b = await store.balances(s)
    assert b["token_used"] > 0 and b["token_held"] == 0 and b["user_held"] == 0


async def test_unreachable_upstream_is_do_request_failed_and_refunded(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    s = await store.scenario(
        upstream, channels=[{"key": "mock", "base_url": closed}], quota=5_000_000, remain=2_000_000
    )
    err = await chat_error(relay, s.api_key)
    assert err.status_code == 500
    assert error_of(err)["code"] == "do_request_failed"
    await assert_refunded(store, s, 5_000_000, 2_000_000)


# --- weighted random inside one priority tier --------------------------------------------------


async def share_of_a(relay: RelayServer, api_key: str, calls: int) -> float:
    sem = asyncio.Semaphore(16)
    async with client(relay, api_key) as api:

        async def one() -> str:
            async with sem:
                done = await api.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
                )
            return (done.choices[0].message.content or "")[:3]

        tags = await asyncio.gather(*(one() for _ in range(calls)))
    assert set(tags) <= {"[A]", "[B]"}
    return tags.count("[A]") / calls


async def test_weighted_split_follows_the_weights(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    # Average weight 20 >= 10: no smoothing, A should get 30 / 40 = 75 %.
    s = await store.scenario(
        upstream,
        channels=[
            {"key": "mock;tag=A;words=1", "priority": 5, "weight": 30},
            {"key": "mock;tag=B;words=1", "priority": 5, "weight": 10},
        ],
    )
    share = await share_of_a(relay, s.api_key, 400)
    assert 0.65 <= share <= 0.85, share


async def test_zero_weights_split_evenly(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(
        upstream,
        channels=[
            {"key": "mock;tag=A;words=1", "weight": 0},
            {"key": "mock;tag=B;words=1", "weight": 0},
        ],
    )
    share = await share_of_a(relay, s.api_key, 400)
    assert 0.35 <= share <= 0.65, share


# --- model mapping -----------------------------------------------------------------------------


async def test_model_mapping_reaches_upstream_but_billing_keeps_the_requested_name(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = f"mock;pt=57;ct=34;n={tag()}"
    s = await store.scenario(
        upstream,
        channels=[{"key": key, "model_mapping": '{"gpt-4o-mini":"gpt-4o-mini-2024-07-18"}'}],
    )
    reply = await chat(relay, s.api_key)
    reply.parse()
    calls = await upstream.calls(key)
    assert [c["body"]["model"] for c in calls] == ["gpt-4o-mini-2024-07-18"]
    quota = expected_quota(57, 34, "0.075", "4")  # gpt-4o-mini's price, not the mapped name's
    assert (await store.balances(s))["token_used"] == quota
    row = await log_row(store, reply.headers["X-Oneapi-Request-Id"])
    assert row["model_name"] == "gpt-4o-mini" and row["quota"] == quota
    other = orjson.loads(row["other"])
    assert other["is_model_mapped"] is True
    assert other["upstream_model_name"] == "gpt-4o-mini-2024-07-18"


async def test_model_mapping_chain_is_followed(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = f"mock;n={tag()}"
    mapping = '{"gpt-4o-mini":"b-model","b-model":"c-model"}'
    s = await store.scenario(upstream, channels=[{"key": key, "model_mapping": mapping}])
    await chat(relay, s.api_key)
    assert [c["body"]["model"] for c in await upstream.calls(key)] == ["c-model"]


async def test_model_mapping_cycle_is_a_channel_error(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    cycle = '{"gpt-4o-mini":"x-model","x-model":"gpt-4o-mini"}'
    alone = await store.scenario(
        upstream, channels=[{"key": "mock", "model_mapping": cycle}], remain=3_000_000
    )
    b = f"mock;tag=B;n={tag()}"
    with_b = await store.scenario(
        upstream,
        channels=[
            {"key": f"mock;n={tag()}", "priority": 10, "model_mapping": cycle},
            {"key": b, "priority": 0},
        ],
    )
    async with options(store, RetryTimes="1"):
        err = await chat_error(relay, alone.api_key)
        assert err.status_code == 500
        assert error_of(err)["code"] == "channel:model_mapped_error"
        reply = await chat(relay, with_b.api_key)
    assert reply.parse().choices[0].message.content.startswith("[B]")
    assert [c["body"]["model"] for c in await upstream.calls(b)] == ["gpt-4o-mini"]
    await assert_refunded(store, alone, 100_000_000, 3_000_000)
