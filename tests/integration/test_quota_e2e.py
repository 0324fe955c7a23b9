"""End to end: quota exactness under concurrency, rate limits and billing arithmetic."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import openai
import orjson
import pytest
from relay_harness import Backend, MockUpstream, RelayServer, Scenario, Store, running
from sqlalchemy import text

pytestmark = pytest.mark.integration

OPTION_DEFAULTS = {
    "RetryTimes": "0",
    "ModelRequestRateLimitEnabled": "false",
    "ModelRequestRateLimitDurationMinutes": "1",
    "ModelRequestRateLimitSuccessCount": "1000",
}
FIXED_MODEL = "fixed-model-xyz"
FIXED_COST = 1000  # 0.002 USD x QuotaPerUnit 500000
N = 10


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


@dataclass
class Outcome:
    status: int
    error: dict[str, Any]
    headers: Any


async def call(base_url: str, api_key: str, model: str = "gpt-4o-mini") -> Outcome:
    """One chat call on its own client (so its own connection); never raises on HTTP errors."""
    async with openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0) as api:
        try:
            reply = await api.chat.completions.with_raw_response.create(
                model=model, messages=[{"role": "user", "content": "hello"}]
            )
        except openai.APIStatusError as exc:
            # The SDK hands over the body's "error" member (or the whole body if it has none).
            body = exc.body if isinstance(exc.body, dict) else {}
            error = body.get("error", body)
            return Outcome(
                exc.status_code, error if isinstance(error, dict) else {}, exc.response.headers
            )
        reply.parse()
        return Outcome(200, {}, reply.headers)


async def burst(base_urls: Sequence[str], api_key: str, n: int, model: str) -> list[Outcome]:
    """n concurrent calls, spread round-robin over the given nodes."""
    return list(
        await asyncio.gather(
            *(call(base_urls[i % len(base_urls)], api_key, model) for i in range(n))
        )
    )


def statuses(outcomes: list[Outcome]) -> dict[int, int]:
    out: dict[int, int] = {}
    for o in outcomes:
        out[o.status] = out.get(o.status, 0) + 1
    return out


async def away_from_boundary(period: int, margin: float = 5.0) -> None:
    """Wait if a minute/day boundary is near, so one burst stays inside one window."""
    left = period - time.time() % period
    if left < margin:
        await asyncio.sleep(left + 0.2)


async def token_row(store: Store, token_id: int) -> tuple[int, int]:
    async with store.engine.connect() as conn:
        row = await conn.execute(
            text("SELECT remain_quota, used_quota FROM tokens WHERE id = :id"), {"id": token_id}
        )
        remain, used = row.one()
    return int(remain), int(used)


# --- exactness under concurrency ---------------------------------------------------------------


async def fixed_price_scenario(store: Store, upstream: MockUpstream) -> Scenario:
    return await store.scenario(
        upstream,
        channels=[{"key": "mock;delay=100"}],
        models=(FIXED_MODEL,),
        remain=N * FIXED_COST,
        quota=100_000_000,
    )


async def assert_exactly_n_spent(store: Store, s: Scenario, outcomes: list[Outcome]) -> None:
    counts = statuses(outcomes)
    assert counts.get(200) == N, counts
    assert set(counts) <= {200, 401, 403}, counts
    b = await store.balances(s)
    assert b["token"] == 0 and b["token_used"] == N * FIXED_COST
    assert b["user"] == 100_000_000 - N * FIXED_COST
    assert b["token_held"] == 0 and b["user_held"] == 0
    await store.wait_drained()
    assert await token_row(store, s.token_id) == (0, N * FIXED_COST)
    assert (
        await store.scalar("SELECT quota FROM users WHERE id = :id", id=s.user_id)
        == 100_000_000 - N * FIXED_COST
    )
    logged = await store.scalar(
        "SELECT COUNT(*) FROM logs WHERE token_id = :id AND quota = :q", id=s.token_id, q=FIXED_COST
    )
    assert logged == N


async def test_concurrent_calls_spend_a_token_exactly(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    async with options(store, ModelPrice=orjson.dumps({FIXED_MODEL: 0.002}).decode()):
        s = await fixed_price_scenario(store, upstream)
        outcomes = await burst([relay.base_url], s.api_key, 4 * N, FIXED_MODEL)
    await assert_exactly_n_spent(store, s, outcomes)


async def test_concurrent_calls_on_two_nodes_spend_a_token_exactly(
    relay: RelayServer,
    store: Store,
    upstream: MockUpstream,
    backend: Backend,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    if backend.name != "pg":
        pytest.skip(
            "two nodes need shared state: the embedded backend's SQLite file and embedded Redis "
            "belong to one node's data directory; runs on the pg backend (PostgreSQL + Redis)"
        )
    second = RelayServer(backend=backend, data_dir=tmp_path_factory.mktemp("node2") / "data")
    async with options(store, ModelPrice=orjson.dumps({FIXED_MODEL: 0.002}).decode()):
        async with running(second):
            s = await fixed_price_scenario(store, upstream)
            outcomes = await burst([relay.base_url, second.base_url], s.api_key, 4 * N, FIXED_MODEL)
        assert second.proc is not None and second.proc.returncode == 0, second.log()
        assert "Traceback" not in second.log(), second.log()
    await assert_exactly_n_spent(store, s, outcomes)


# --- per-token limits (relay's own columns) ----------------------------------------------------


def assert_rate_limited(o: Outcome, within: int) -> None:
    assert o.status == 429
    assert o.error.get("code") == "rate_limit_exceeded" and o.error.get("message")
    retry_after = int(o.headers["Retry-After"])
    assert 0 < retry_after <= within


async def test_token_rpm(relay: RelayServer, store: Store, upstream: MockUpstream) -> None:
    s = await store.scenario(upstream, rate_limit_rpm=3)
    await away_from_boundary(60)
    outcomes = await burst([relay.base_url], s.api_key, 8, "gpt-4o-mini")
    assert statuses(outcomes) == {200: 3, 429: 5}
    for o in outcomes:
        if o.status == 429:
            assert_rate_limited(o, 60)
    assert (await store.balances(s))["token_held"] == 0


async def test_token_rpd(relay: RelayServer, store: Store, upstream: MockUpstream) -> None:
    s = await store.scenario(upstream, rate_limit_rpd=2)
    await away_from_boundary(86400)
    outcomes = await burst([relay.base_url], s.api_key, 5, "gpt-4o-mini")
    assert statuses(outcomes) == {200: 2, 429: 3}
    for o in outcomes:
        if o.status == 429:
            assert_rate_limited(o, 86400)


async def test_token_tpm(relay: RelayServer, store: Store, upstream: MockUpstream) -> None:
    s = await store.scenario(upstream, rate_limit_tpm=1)
    await away_from_boundary(60)
    assert (await call(relay.base_url, s.api_key)).status == 200
    assert_rate_limited(await call(relay.base_url, s.api_key), 60)


# --- new-api's per-user model request limit ----------------------------------------------------


async def test_model_request_success_limit(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(
        upstream,
        channels=[
            {"key": "mock;status=500", "models": ["gpt-4o-mini"]},
            {"key": "mock;tag=ok", "models": ["gpt-4o"]},
        ],
        models=("gpt-4o-mini", "gpt-4o"),
    )
    limits = {
        "ModelRequestRateLimitEnabled": "true",
        "ModelRequestRateLimitDurationMinutes": "1",
        "ModelRequestRateLimitSuccessCount": "2",
    }
    async with options(store, **limits):
        # Failed upstream calls do not use up the success count. (One at a time: relay counts
        # in-flight calls against the limit too, which is what makes the next burst exact.)
        for _ in range(3):
            assert (await call(relay.base_url, s.api_key)).status == 500
        outcomes = await burst([relay.base_url], s.api_key, 5, "gpt-4o")
    assert statuses(outcomes) == {200: 2, 429: 3}
    for o in outcomes:
        if o.status == 429:
            assert "request limit" in o.error["message"]


# --- quota refusals and refunds ----------------------------------------------------------------


async def test_user_without_quota_is_refused(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, quota=0)
    o = await call(relay.base_url, s.api_key)
    assert (o.status, o.error["code"]) == (403, "insufficient_user_quota")


async def test_token_below_the_hold_is_refused(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, remain=10)  # the hold is 500 x 0.075 = 37
    o = await call(relay.base_url, s.api_key)
    assert (o.status, o.error["code"]) == (403, "pre_consume_token_quota_failed")
    b = await store.balances(s)
    assert b["token"] == 10 and b["token_held"] == 0 and b["user_held"] == 0


async def test_unlimited_token_skips_the_token_check_but_counts_usage(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(
        upstream, channels=[{"key": "mock;pt=57;ct=34"}], remain=0, unlimited_quota=True
    )
    assert (await call(relay.base_url, s.api_key)).status == 200
    quota = 14  # round((57 + 34 x 4) x 0.075) = round(14.475)
    b = await store.balances(s)
    assert (b["token"], b["token_used"], b["token_held"]) == (-quota, quota, 0)
    await store.wait_drained()
    assert await token_row(store, s.token_id) == (-quota, quota)


async def test_failed_request_refunds_its_hold(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(
        upstream, channels=[{"key": "mock;status=500"}], quota=7_000_000, remain=3_000_000
    )
    assert (await call(relay.base_url, s.api_key)).status == 500
    b = await store.balances(s)
    assert (b["user"], b["token"], b["token_used"]) == (7_000_000, 3_000_000, 0)
    assert b["user_held"] == 0 and b["token_held"] == 0


# --- billing arithmetic ------------------------------------------------------------------------


async def test_cached_prompt_tokens_are_billed_at_the_cache_ratio(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(
        upstream, channels=[{"key": "mock;pt=1000;ct=100;cached=400"}], models=("gpt-4o",)
    )
    o = await call(relay.base_url, s.api_key, "gpt-4o")
    assert o.status == 200
    quota = 1500  # round((600 + 400 x 0.5 + 100 x 4) x 1.25)
    await store.wait_drained()
    assert (await token_row(store, s.token_id))[1] == quota
    async with store.engine.connect() as conn:
        sql = text("SELECT * FROM logs WHERE request_id = :rid")
        result = await conn.execute(sql, {"rid": o.headers["X-Oneapi-Request-Id"]})
        row = result.mappings().one()
    assert (row["quota"], row["prompt_tokens"], row["completion_tokens"]) == (quota, 1000, 100)
    assert row["model_name"] == "gpt-4o"
    other = orjson.loads(row["other"])
    assert other["model_ratio"] == 1.25 and other["completion_ratio"] == 4
    assert other["cache_ratio"] == 0.5 and other["group_ratio"] == 1
    assert other["cache_tokens"] == 400 and other["model_price"] == -1
