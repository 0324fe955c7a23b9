"""The quota service: admission, settlement, refunds and leases, one Lua call each."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum
from importlib import resources
from typing import Any

from relay.quota import keys
from relay.redis_pipe import PipelinedRedis, PipelinedScript
from relay.store.tokens import BalanceRow

log = logging.getLogger("relay.quota")


def _script_source(name: str) -> str:
    return resources.files("relay.quota").joinpath("lua", f"{name}.lua").read_text()


class Refusal(IntEnum):
    """Why the admission script refused a request."""

    TOKEN_INVALID = 2
    USER_BANNED = 3
    RPM = 4
    RPD = 5
    TPM = 6
    MODEL_SUCCESS_LIMIT = 7
    MODEL_TOTAL_LIMIT = 8
    USER_QUOTA = 9
    TOKEN_QUOTA = 10


_OK = 0
_NEED_LOAD = 1


class QuotaRefused(Exception):
    """Admission said no; `value` is the retry-after seconds or the available balance."""

    def __init__(self, reason: Refusal, value: int) -> None:
        super().__init__(reason.name)
        self.reason = reason
        self.value = value


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-token limits (0 = none) and the per-user model request limit (window 0 = off)."""

    rpm: int = 0
    rpd: int = 0
    tpm: int = 0
    model_window_s: int = 0
    model_total: int = 0
    model_success: int = 0


NO_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Hold:
    """A pre-consumption held for one request until it settles or is refunded."""

    request_id: str
    user_id: int
    token_id: int
    amount: int
    tpm_limited: bool

    @property
    def member(self) -> str:
        return f"{self.request_id}|{self.user_id}|{self.token_id}|{self.amount}"

    @property
    def shard(self) -> int:
        return keys.shard_of(self.user_id)


BalanceLoader = Callable[[int, int], Awaitable[BalanceRow | None]]


class QuotaService:
    """Atomic quota decisions against Redis. One instance per process."""

    def __init__(
        self,
        redis: Any,
        lease_seconds: int,
        loader: BalanceLoader,
        pipelined: PipelinedRedis | None = None,
    ) -> None:
        """`pipelined`, when given, carries the per-request scripts (see relay.redis_pipe)."""
        self._redis = redis
        self._pipelined = pipelined is not None
        self._lease_ms = lease_seconds * 1000
        self._loader = loader

        def script(name: str) -> Any:
            source = _script_source(name)
            if pipelined is not None:
                return PipelinedScript(pipelined, source)
            return redis.register_script(source)

        self._admit = script("admit")
        self._settle = script("settle")
        self._refund = script("refund")
        self._load = script("load")
        self._renew = script("renew")
        self._reap = script("reap")
        self._adjust = script("adjust")
        self._patch = script("patch")
        self._live: dict[str, Hold] = {}
        self._loading: dict[tuple[int, int], asyncio.Future[None]] = {}
        self._settling: set[asyncio.Future[Any]] = set()

    async def admit(
        self,
        request_id: str,
        user_id: int,
        token_id: int,
        amount: int,
        limits: Limits,
        free: bool = False,
    ) -> Hold:
        """Check and apply limits and the hold in one step; raises QuotaRefused.

        `free` (a free model with free pre-consumption off) skips the balance checks."""
        hold = Hold(request_id, user_id, token_id, amount, limits.tpm > 0)
        k = keys.account_keys(user_id, token_id)
        script_keys = [k.user, k.token, k.holds, k.limits, k.success, k.total]
        args = [
            hold.member,
            amount,
            self._lease_ms,
            limits.rpm,
            limits.rpd,
            limits.tpm,
            limits.model_window_s,
            limits.model_total,
            limits.model_success,
            request_id,
            1 if free else 0,
        ]
        code, value = await self._admit(keys=script_keys, args=args)
        if code == _NEED_LOAD:
            await self._load_balances(user_id, token_id)
            code, value = await self._admit(keys=script_keys, args=args)
        if code == _NEED_LOAD:
            # The token or user no longer exists in SQL.
            raise QuotaRefused(Refusal.TOKEN_INVALID, 0)
        if code != _OK:
            raise QuotaRefused(Refusal(code), int(value))
        self._live[hold.member] = hold
        return hold

    def settle(
        self,
        hold: Hold,
        quota: int,
        channel_id: int,
        tokens_used: int,
        success: bool,
        log_record: bytes,
    ) -> asyncio.Future[Any]:
        """Replace the hold with the real cost, append the ledger entry and the usage log.

        Nobody has to wait: on the pipelined connection the script is written before this
        returns, so it reaches Redis ahead of the client's answer the caller writes next (on
        redis-py a task sends it). The future is kept until Redis has answered (`drain` waits
        for the rest at shutdown) and a failure is logged; a client that goes away cannot
        stop it.
        """
        self._live.pop(hold.member, None)
        k = keys.account_keys(hold.user_id, hold.token_id)
        script_keys = [k.user, k.token, k.holds, k.limits, k.success, k.ledger, k.logs]
        args = [
            hold.member,
            hold.amount,
            quota,
            hold.user_id,
            hold.token_id,
            channel_id,
            tokens_used if hold.tpm_limited else 0,
            1 if success else 0,
            hold.request_id,
            log_record,
        ]
        fut = self._settle.send(script_keys, args) if self._pipelined else None
        if fut is None:
            fut = asyncio.ensure_future(self._settle(keys=script_keys, args=args))
        self._settling.add(fut)
        fut.add_done_callback(functools.partial(self._settled, hold.request_id))
        return fut

    def _settled(self, request_id: str, fut: asyncio.Future[Any]) -> None:
        self._settling.discard(fut)
        if not fut.cancelled() and fut.exception() is not None:
            log.error("settling %s failed: %s", request_id, fut.exception())

    async def drain(self) -> None:
        """Wait for the settlements still on their way (a worker's last step before exit)."""
        if self._settling:
            await asyncio.gather(*list(self._settling), return_exceptions=True)

    async def refund(self, hold: Hold) -> None:
        """Give the hold back (the request failed before any upstream answered); completes
        even if the caller is cancelled: on the pipelined connection the command is queued
        before the first await, so it is sent whatever happens to the waiting caller; on
        redis-py it is shielded."""
        call = self._refund_now(hold)
        await (call if self._pipelined else asyncio.shield(call))

    async def _refund_now(self, hold: Hold) -> None:
        self._live.pop(hold.member, None)
        k = keys.account_keys(hold.user_id, hold.token_id)
        await self._refund(
            keys=[
                k.user,
                k.token,
                k.holds,
                k.success,
            ],
            args=[hold.member, hold.amount, hold.request_id],
        )

    async def _load_balances(self, user_id: int, token_id: int) -> None:
        """Load one user's and token's balances from SQL; concurrent misses share one query."""
        key = (user_id, token_id)
        task = self._loading.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load_once(user_id, token_id))
            self._loading[key] = task
            task.add_done_callback(lambda _t: self._loading.pop(key, None))
        await asyncio.shield(task)

    async def _load_once(self, user_id: int, token_id: int) -> None:
        row = await self._loader(user_id, token_id)
        if row is None:
            return
        await self._load(
            keys=[keys.user_key(user_id), keys.token_key(user_id, token_id)],
            args=[
                row.user_status,
                row.user_quota,
                row.user_used,
                row.user_requests,
                row.token_status,
                row.token_remain,
                row.token_used,
                1 if row.token_unlimited else 0,
                row.token_expired_time,
            ],
        )

    async def balances(self, user_id: int, token_id: int) -> tuple[int, int, int, int]:
        """(user quota, user used, token remain, token used) as Redis holds them now."""
        for _ in range(2):
            pipe = self._redis.pipeline(transaction=False)
            pipe.hmget(keys.user_key(user_id), "q", "uq")
            pipe.hmget(keys.token_key(user_id, token_id), "q", "uq")
            user, token = await pipe.execute()
            if user[0] is not None and token[0] is not None:
                return int(user[0]), int(user[1]), int(token[0]), int(token[1])
            await self._load_balances(user_id, token_id)
        return 0, 0, 0, 0

    async def adjust_user(
        self, user_id: int, amount: int, *, override: bool, sql: dict[str, int]
    ) -> tuple[int, int]:
        """Add `amount` to (or, with override, set) a user's balance; returns (before, after).

        `sql` is the user's row as SQL has it (status, quota, used_quota, request_count), used
        only if Redis has not loaded this user yet. The change reaches SQL through the ledger.
        """
        loaded = [
            "st", sql["status"], "q", sql["quota"], "uq", sql["used_quota"],
            "rc", sql["request_count"],
        ]  # fmt: skip
        before, after = await self._adjust(
            keys=[keys.user_key(user_id), keys.ledger_key(keys.shard_of(user_id))],
            args=["u", user_id, 0, "set" if override else "add", amount, *loaded],
        )
        return int(before), int(after)

    async def adjust_token(
        self, user_id: int, token_id: int, amount: int, *, override: bool, sql: dict[str, int]
    ) -> tuple[int, int]:
        """Like adjust_user for a token's remaining quota; `sql` holds status, remain_quota,
        used_quota, unlimited_quota (0/1) and expired_time."""
        loaded = [
            "st", sql["status"], "q", sql["remain_quota"], "uq", sql["used_quota"],
            "ul", sql["unlimited_quota"], "ex", sql["expired_time"],
        ]  # fmt: skip
        before, after = await self._adjust(
            keys=[keys.token_key(user_id, token_id), keys.ledger_key(keys.shard_of(user_id))],
            args=["t", user_id, token_id, "set" if override else "add", amount, *loaded],
        )
        return int(before), int(after)

    async def patch_user(self, user_id: int, **fields: int) -> None:
        """Mirror SQL changes of a user's status into Redis, if Redis has the user loaded."""
        await self._patch(keys=[keys.user_key(user_id)], args=_pairs(fields))

    async def patch_token(self, user_id: int, token_id: int, **fields: int) -> None:
        """Mirror SQL changes of a token (st, ul, ex) into Redis, if it is loaded there."""
        await self._patch(keys=[keys.token_key(user_id, token_id)], args=_pairs(fields))

    async def live_user(self, user_id: int) -> tuple[int, int] | None:
        """(quota, used) of a user as Redis holds them, or None if not loaded."""
        quota, used = await self._redis.hmget(keys.user_key(user_id), "q", "uq")
        return None if quota is None else (int(quota), int(used))

    async def live_token(self, user_id: int, token_id: int) -> tuple[int, int] | None:
        """(remain, used) of a token as Redis holds them, or None if not loaded."""
        remain, used = await self._redis.hmget(keys.token_key(user_id, token_id), "q", "uq")
        return None if remain is None else (int(remain), int(used))

    async def live_tokens(self, user_id: int, token_ids: list[int]) -> dict[int, tuple[int, int]]:
        """live_token for several of a user's tokens in one round trip (loaded ones only)."""
        if not token_ids:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for token_id in token_ids:
            pipe.hmget(keys.token_key(user_id, token_id), "q", "uq")
        rows = await pipe.execute()
        return {
            tid: (int(row[0]), int(row[1]))
            for tid, row in zip(token_ids, rows, strict=True)
            if row[0] is not None
        }

    async def renew_leases(self) -> int:
        """Extend the leases of this process's in-flight holds; returns how many were renewed."""
        by_shard: dict[int, list[str]] = {}
        for member, hold in list(self._live.items()):
            by_shard.setdefault(hold.shard, []).append(member)
        renewed = 0
        for shard, members in by_shard.items():
            renewed += int(
                await self._renew(keys=[keys.holds_key(shard)], args=[self._lease_ms, *members])
            )
        return renewed

    async def run_lease_renewal(self) -> None:
        """Background task: renew leases at a third of their length, forever."""
        interval = self._lease_ms / 3000
        while True:
            await asyncio.sleep(interval)
            try:
                await self.renew_leases()
            except Exception:
                log.exception("renewing hold leases failed; will retry")

    async def reap_expired(self, batch: int = 500) -> int:
        """Refund holds whose lease ran out, in every shard; returns how many were refunded."""
        total = 0
        for shard in range(keys.SHARDS):
            total += int(
                await self._reap(keys=[keys.holds_key(shard)], args=[keys.tag(shard), batch])
            )
        return total

    @property
    def in_flight(self) -> int:
        return len(self._live)


def _pairs(fields: dict[str, int]) -> list[Any]:
    return [item for name, value in fields.items() for item in (name, value)]
