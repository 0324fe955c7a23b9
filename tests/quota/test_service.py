"""relay.quota.service against a real Redis: admission, holds, settlement, refunds, leases."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from backing_stores import redis_client, redis_params

from relay.quota import keys
from relay.quota.service import NO_LIMITS, Hold, Limits, QuotaRefused, QuotaService, Refusal
from relay.store.tokens import BalanceRow

_ids = itertools.count(1001)


@pytest.fixture(scope="module", params=redis_params())
async def redis(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Any]:
    async with redis_client(request.param, tmp_path_factory.mktemp("redis")) as client:
        yield client


class Loader:
    """The SQL side of balances, as the worker's loader would return them."""

    def __init__(self) -> None:
        self.rows: dict[tuple[int, int], BalanceRow] = {}
        self.calls = 0

    async def __call__(self, user_id: int, token_id: int) -> BalanceRow | None:
        self.calls += 1
        await asyncio.sleep(0.01)  # a query takes a moment: concurrent misses overlap
        return self.rows.get((user_id, token_id))


def account(
    loader: Loader,
    *,
    quota: int = 1_000_000,
    remain: int = 1_000_000,
    unlimited: bool = False,
    user_status: int = 1,
    token_status: int = 1,
    expired: int = -1,
) -> tuple[int, int]:
    uid, tid = next(_ids), next(_ids)
    loader.rows[(uid, tid)] = BalanceRow(
        user_status, quota, 0, 0, token_status, remain, 0, unlimited, expired
    )
    return uid, tid


def service(redis: Any, lease_seconds: int = 120) -> tuple[QuotaService, Loader]:
    loader = Loader()
    return QuotaService(redis, lease_seconds, loader), loader


def rid() -> str:
    return f"req{next(_ids)}"


async def held(redis: Any, uid: int, tid: int) -> tuple[int, int]:
    user = await redis.hget(keys.user_key(uid), "h")
    token = await redis.hget(keys.token_key(uid, tid), "h")
    return int(user), int(token)


async def refused(coro: Awaitable[Hold]) -> tuple[Refusal, int]:
    with pytest.raises(QuotaRefused) as info:
        await coro
    return info.value.reason, info.value.value


async def in_one_window(redis: Any, seconds: int, attempt: Callable[[], Awaitable[None]]) -> None:
    """Run a rate-limit scenario inside one limit window; retry if the window rolled over."""
    for _ in range(3):
        start = int((await redis.time())[0]) // seconds
        try:
            await attempt()
        except AssertionError:
            if int((await redis.time())[0]) // seconds != start:
                continue
            raise
        return
    raise AssertionError("the window rolled over three times")


# --- admission and holds --------------------------------------------------------------------


async def test_admit_loads_balances_once_and_takes_the_hold(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader, quota=1000, remain=500)
    hold = await quota.admit(rid(), uid, tid, 100, NO_LIMITS)
    assert (hold.user_id, hold.token_id, hold.amount, hold.tpm_limited) == (uid, tid, 100, False)
    assert await held(redis, uid, tid) == (100, 100)
    assert await quota.balances(uid, tid) == (1000, 0, 500, 0)
    assert quota.in_flight == 1
    sec, usec = await redis.time()
    score = await redis.zscore(keys.holds_key(hold.shard), hold.member)
    now_ms = int(sec) * 1000 + int(usec) // 1000
    assert now_ms + 115_000 <= score <= now_ms + 120_000
    await quota.admit(rid(), uid, tid, 50, NO_LIMITS)
    assert loader.calls == 1
    assert await held(redis, uid, tid) == (150, 150)


async def test_holds_reduce_token_availability(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader, remain=250)
    await quota.admit(rid(), uid, tid, 100, NO_LIMITS)
    await quota.admit(rid(), uid, tid, 100, NO_LIMITS)
    assert await refused(quota.admit(rid(), uid, tid, 100, NO_LIMITS)) == (Refusal.TOKEN_QUOTA, 50)
    await quota.admit(rid(), uid, tid, 50, NO_LIMITS)
    # Nothing left on the token: it is exhausted, so the token itself is refused.
    assert await refused(quota.admit(rid(), uid, tid, 0, NO_LIMITS)) == (Refusal.TOKEN_INVALID, 0)
    assert await held(redis, uid, tid) == (250, 250)


async def test_holds_reduce_user_availability(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader, quota=250, remain=0, unlimited=True)
    await quota.admit(rid(), uid, tid, 100, NO_LIMITS)
    await quota.admit(rid(), uid, tid, 100, NO_LIMITS)
    assert await refused(quota.admit(rid(), uid, tid, 100, NO_LIMITS)) == (Refusal.USER_QUOTA, 50)
    await quota.admit(rid(), uid, tid, 50, NO_LIMITS)
    assert await refused(quota.admit(rid(), uid, tid, 0, NO_LIMITS)) == (Refusal.USER_QUOTA, 0)


async def test_free_models_skip_the_wallet_checks(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader, quota=0, remain=0, unlimited=True)
    assert await refused(quota.admit(rid(), uid, tid, 0, NO_LIMITS)) == (Refusal.USER_QUOTA, 0)
    hold = await quota.admit(rid(), uid, tid, 0, NO_LIMITS, free=True)
    assert hold.amount == 0
    assert await held(redis, uid, tid) == (0, 0)


async def test_unlimited_token_skips_the_token_balance(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader, quota=1000, remain=-50, unlimited=True)
    await quota.admit(rid(), uid, tid, 900, NO_LIMITS)
    assert await held(redis, uid, tid) == (900, 900)


@pytest.mark.parametrize(
    "args",
    [
        {"token_status": 2},
        {"token_status": 3},
        {"token_status": 4},
        {"expired": 1_000_000_000},
        {"remain": 0},
        {"remain": -5},
    ],
    ids=["disabled", "expired-status", "exhausted-status", "expired", "exhausted", "negative"],
)
async def test_invalid_tokens_are_refused(redis: Any, args: dict[str, Any]) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader, **args)
    assert await refused(quota.admit(rid(), uid, tid, 0, NO_LIMITS)) == (Refusal.TOKEN_INVALID, 0)
    assert quota.in_flight == 0


async def test_future_expiry_is_fine(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader, expired=int(time.time()) + 3600)
    await quota.admit(rid(), uid, tid, 1, NO_LIMITS)


async def test_banned_user_is_refused(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader, user_status=2)
    assert await refused(quota.admit(rid(), uid, tid, 0, NO_LIMITS)) == (Refusal.USER_BANNED, 0)


async def test_unknown_account_is_an_invalid_token(redis: Any) -> None:
    quota, _ = service(redis)
    uid, tid = next(_ids), next(_ids)
    assert await refused(quota.admit(rid(), uid, tid, 0, NO_LIMITS)) == (Refusal.TOKEN_INVALID, 0)
    assert await quota.balances(uid, tid) == (0, 0, 0, 0)


# --- rate limits ----------------------------------------------------------------------------


async def test_rpm(redis: Any) -> None:
    quota, loader = service(redis)

    async def attempt() -> None:
        uid, tid = account(loader)
        limits = Limits(rpm=2)
        await quota.admit(rid(), uid, tid, 10, limits)
        await quota.admit(rid(), uid, tid, 10, limits)
        reason, retry_after = await refused(quota.admit(rid(), uid, tid, 10, limits))
        assert reason is Refusal.RPM and 1 <= retry_after <= 60
        assert await held(redis, uid, tid) == (20, 20)  # a refusal takes no hold
        await quota.admit(rid(), uid, tid, 10, Limits(rpm=3))

    await in_one_window(redis, 60, attempt)


async def test_rpd(redis: Any) -> None:
    quota, loader = service(redis)

    async def attempt() -> None:
        uid, tid = account(loader)
        await quota.admit(rid(), uid, tid, 0, Limits(rpd=1))
        reason, retry_after = await refused(quota.admit(rid(), uid, tid, 0, Limits(rpd=1)))
        assert reason is Refusal.RPD and 1 <= retry_after <= 86400

    await in_one_window(redis, 86400, attempt)


async def test_tpm_counts_settled_tokens(redis: Any) -> None:
    quota, loader = service(redis)

    async def attempt() -> None:
        uid, tid = account(loader)
        limits = Limits(tpm=100)
        hold = await quota.admit(rid(), uid, tid, 10, limits)
        assert hold.tpm_limited
        await quota.settle(hold, 5, 1, 60, True, b"")
        hold = await quota.admit(rid(), uid, tid, 10, limits)  # 60 < 100
        await quota.settle(hold, 5, 1, 40, True, b"")
        reason, retry_after = await refused(quota.admit(rid(), uid, tid, 10, limits))
        assert reason is Refusal.TPM and 1 <= retry_after <= 60

    await in_one_window(redis, 60, attempt)


async def test_tokens_are_not_counted_without_a_tpm_limit(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader)
    hold = await quota.admit(rid(), uid, tid, 10, NO_LIMITS)
    await quota.settle(hold, 5, 1, 10_000, True, b"")
    assert await redis.exists(keys.token_limits_key(uid, tid)) == 0


async def test_model_success_limit(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader)
    limits = Limits(model_window_s=60, model_success=2)
    first = await quota.admit(rid(), uid, tid, 10, limits)
    second = await quota.admit(rid(), uid, tid, 10, limits)
    reason, retry_after = await refused(quota.admit(rid(), uid, tid, 10, limits))
    assert reason is Refusal.MODEL_SUCCESS_LIMIT and 1 <= retry_after <= 60
    await quota.settle(first, 5, 1, 0, False, b"")  # a failure frees its reservation
    third = await quota.admit(rid(), uid, tid, 10, limits)
    await quota.refund(third)  # so does a refund
    fourth = await quota.admit(rid(), uid, tid, 10, limits)
    await quota.settle(second, 5, 1, 0, True, b"")  # a success keeps it
    await quota.settle(fourth, 5, 1, 0, True, b"")
    assert (await refused(quota.admit(rid(), uid, tid, 10, limits)))[0] is (
        Refusal.MODEL_SUCCESS_LIMIT
    )


async def test_model_total_limit(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader)
    limits = Limits(model_window_s=60, model_total=2, model_success=1000)
    for _ in range(2):
        hold = await quota.admit(rid(), uid, tid, 10, limits)
        await quota.settle(hold, 0, 1, 0, False, b"")  # failures count against the total
    reason, retry_after = await refused(quota.admit(rid(), uid, tid, 10, limits))
    assert reason is Refusal.MODEL_TOTAL_LIMIT and 1 <= retry_after <= 30
    assert await held(redis, uid, tid) == (0, 0)


# --- settlement, refunds, leases ------------------------------------------------------------


async def ledger(redis: Any, uid: int) -> list[dict[bytes, bytes]]:
    entries = await redis.xrange(keys.ledger_key(keys.shard_of(uid)))
    return [f for _, f in entries if f[b"u"] == str(uid).encode()]


async def usage_logs(redis: Any, uid: int, marker: bytes) -> list[bytes]:
    entries = await redis.xrange(keys.logs_key(keys.shard_of(uid)))
    return [f[b"r"] for _, f in entries if marker in f[b"r"]]


async def test_settle_replaces_the_hold_with_the_cost(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader, quota=10_000, remain=5_000)
    hold = await quota.admit(rid(), uid, tid, 300, NO_LIMITS)
    record = f"log-of-{uid}".encode()
    await quota.settle(hold, 123, 7, 50, True, record)
    assert await held(redis, uid, tid) == (0, 0)
    assert await quota.balances(uid, tid) == (10_000 - 123, 123, 5_000 - 123, 123)
    assert int(await redis.hget(keys.user_key(uid), "rc")) == 1
    assert await ledger(redis, uid) == [
        {b"u": str(uid).encode(), b"t": str(tid).encode(), b"c": b"7", b"q": b"123", b"rc": b"1"}
    ]
    assert await usage_logs(redis, uid, record) == [record]
    assert quota.in_flight == 0
    assert await redis.zscore(keys.holds_key(hold.shard), hold.member) is None


async def test_settle_may_cost_more_than_the_hold(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader, quota=1_000, remain=1_000)
    hold = await quota.admit(rid(), uid, tid, 10, NO_LIMITS)
    await quota.settle(hold, 1_500, 2, 0, True, b"")
    assert await quota.balances(uid, tid) == (-500, 1_500, -500, 1_500)
    assert await held(redis, uid, tid) == (0, 0)


async def test_free_settlement_still_counts_the_request(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader)
    hold = await quota.admit(rid(), uid, tid, 0, NO_LIMITS)
    await quota.settle(hold, 0, 2, 0, True, b"")
    assert [e[b"q"] for e in await ledger(redis, uid)] == [b"0"]
    assert int(await redis.hget(keys.user_key(uid), "rc")) == 1
    assert await quota.balances(uid, tid) == (1_000_000, 0, 1_000_000, 0)


async def test_settle_charges_in_full_after_the_hold_was_reaped(redis: Any) -> None:
    expiring, loader = service(redis, lease_seconds=0)
    uid, tid = account(loader, quota=1_000, remain=1_000)
    hold = await expiring.admit(rid(), uid, tid, 100, NO_LIMITS)
    assert await expiring.reap_expired() >= 1
    assert await held(redis, uid, tid) == (0, 0)
    await expiring.settle(hold, 250, 1, 0, True, b"")
    assert await held(redis, uid, tid) == (0, 0)  # not refunded twice
    assert await expiring.balances(uid, tid) == (750, 250, 750, 250)
    assert len(await ledger(redis, uid)) == 1


async def test_reap_frees_the_model_success_reservation(redis: Any) -> None:
    expiring, loader = service(redis, lease_seconds=0)
    uid, tid = account(loader)
    limits = Limits(model_window_s=60, model_success=1)
    await expiring.admit(rid(), uid, tid, 10, limits)
    await expiring.reap_expired()
    await expiring.admit(rid(), uid, tid, 10, limits)


async def test_refund_restores_availability_once(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader, quota=100, remain=100)
    hold = await quota.admit(rid(), uid, tid, 100, NO_LIMITS)
    assert (await refused(quota.admit(rid(), uid, tid, 1, NO_LIMITS)))[0] is Refusal.TOKEN_INVALID
    await quota.refund(hold)
    await quota.refund(hold)
    assert await held(redis, uid, tid) == (0, 0)
    assert await quota.balances(uid, tid) == (100, 0, 100, 0)
    assert await ledger(redis, uid) == []
    await quota.admit(rid(), uid, tid, 100, NO_LIMITS)


async def test_renew_extends_live_holds_only(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader)
    kept = await quota.admit(rid(), uid, tid, 10, NO_LIMITS)
    lost = await quota.admit(rid(), uid, tid, 20, NO_LIMITS)
    holds = keys.holds_key(kept.shard)
    await redis.zadd(holds, {lost.member: 1}, xx=True)  # this lease ran out (worker stalled)
    assert await quota.reap_expired() >= 1
    assert await held(redis, uid, tid) == (10, 10)
    await redis.zadd(holds, {kept.member: 1}, xx=True)  # about to run out as well
    assert await quota.renew_leases() == 1  # `kept` renewed; `lost` stays refunded
    assert await redis.zscore(holds, lost.member) is None
    assert await redis.zscore(holds, kept.member) > time.time() * 1000 + 100_000
    await quota.reap_expired()
    assert await held(redis, uid, tid) == (10, 10)
    await quota.settle(kept, 1, 1, 0, True, b"")
    await quota.settle(lost, 1, 1, 0, True, b"")
    assert await held(redis, uid, tid) == (0, 0)
    assert await quota.renew_leases() == 0


async def test_load_never_overwrites_live_balances(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader, quota=1_000, remain=1_000)
    hold = await quota.admit(rid(), uid, tid, 10, NO_LIMITS)
    await quota.settle(hold, 400, 1, 0, True, b"")
    other, other_loader = service(redis)  # another worker with a stale SQL copy
    other_loader.rows[(uid, tid)] = BalanceRow(1, 1_000, 0, 0, 1, 1_000, 0, False, -1)
    await other.admit(rid(), uid, tid, 10, NO_LIMITS)
    assert other_loader.calls == 0
    assert await other.balances(uid, tid) == (600, 400, 600, 400)


async def test_live_tokens_reads_loaded_balances_in_one_round_trip(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader, remain=1_000)
    unloaded = next(_ids)
    assert await quota.live_tokens(uid, []) == {}
    assert await quota.live_tokens(uid, [tid, unloaded]) == {}
    hold = await quota.admit(rid(), uid, tid, 10, NO_LIMITS)
    await quota.settle(hold, 300, 1, 0, True, b"")
    assert await quota.live_tokens(uid, [tid, unloaded]) == {tid: (700, 300)}
    assert await quota.live_token(uid, tid) == (700, 300)


# --- concurrency ----------------------------------------------------------------------------


@pytest.mark.parametrize("limited_by", ["user", "token"])
async def test_concurrent_admits_never_oversell(redis: Any, limited_by: str) -> None:
    quota, loader = service(redis)
    if limited_by == "user":
        uid, tid = account(loader, quota=5_000, remain=0, unlimited=True)
    else:
        uid, tid = account(loader, quota=10**9, remain=5_000)
    results = await asyncio.gather(
        *(quota.admit(rid(), uid, tid, 100, NO_LIMITS) for _ in range(200)),
        return_exceptions=True,
    )
    holds = [r for r in results if isinstance(r, Hold)]
    refusals = [r for r in results if isinstance(r, QuotaRefused)]
    assert len(holds) == 50 and len(refusals) == 150
    expected = {Refusal.USER_QUOTA} if limited_by == "user" else {Refusal.TOKEN_INVALID}
    assert {r.reason for r in refusals} == expected
    assert await held(redis, uid, tid) == (5_000, 5_000)
    assert loader.calls == 1  # 200 concurrent misses share one SQL load
    assert quota.in_flight == 50
    await asyncio.gather(*(quota.refund(h) for h in holds))
    assert await held(redis, uid, tid) == (0, 0)


async def test_a_settlement_nobody_awaits_completes_by_drain(redis: Any) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader, quota=1_000, remain=1_000)
    hold = await quota.admit(rid(), uid, tid, 100, NO_LIMITS)
    quota.settle(hold, 40, 1, 0, True, b"")  # fire and forget, as the pipeline does
    await quota.drain()
    assert await quota.balances(uid, tid) == (960, 40, 960, 40)
    assert await held(redis, uid, tid) == (0, 0)


async def test_a_failed_settlement_is_logged_not_raised(
    redis: Any, caplog: pytest.LogCaptureFixture
) -> None:
    quota, loader = service(redis)
    uid, tid = account(loader)
    hold = await quota.admit(rid(), uid, tid, 100, NO_LIMITS)
    await redis.set(keys.account_keys(uid, tid).ledger, "not a stream")
    try:
        quota.settle(hold, 40, 1, 0, True, b"")
        await quota.drain()
    finally:
        await redis.delete(keys.account_keys(uid, tid).ledger)
    assert f"settling {hold.request_id} failed" in caplog.text
