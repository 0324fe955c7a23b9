"""Channel health jobs of the admin process.

- Error-rate auto-disable (beyond new-api): workers count every upstream attempt per channel and
  key in Redis (relay.health); every ~10 s this job sums the window
  (`relay.channel_error_window_minutes`) and, when `AutomaticDisableChannelEnabled` is on, puts a
  channel with `auto_ban` = 1 whose qualifying-error rate reached `relay.channel_error_rate`
  over at least `relay.channel_error_min_requests` attempts into status 3. A multi-key channel
  loses only the failing key, and goes to status 3 when no key is left.
- Channel tests of every channel (`GET /api/channel/test`, and on a schedule with
  `monitor_setting.auto_test_channel_*` or CHANNEL_TEST_FREQUENCY): a failing test may disable
  (status 3), a passing one re-enables a status-3 channel when `AutomaticEnableChannelEnabled`.

Several admin processes (one per node) coordinate through Redis locks; every status change is
conditional on the current status, writes an audit row (actor "system") and tells the workers.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from sqlalchemy import func, select

from relay import health
from relay.admin import audit
from relay.admin.channel_form import SYSTEM, audit_view, key_statuses
from relay.admin.channel_probe import ProbeOutcome, open_keys, run_channel_test
from relay.admin.context import AdminContext
from relay.options import Options
from relay.store.channels import (
    STATUS_AUTO_DISABLED,
    STATUS_ENABLED,
    STATUS_MANUALLY_DISABLED,
    all_channels,
    dump_json,
    get_channel,
    parse_info,
    parse_object,
    update_channel,
)
from relay.store.schema import users

log = logging.getLogger("relay.admin.health")

EVALUATE_SECONDS = 10.0
SCHEDULE_TICK_SECONDS = 2.0
EVALUATE_LOCK = "relay:lock:channel-health"
TEST_RUN_LOCK = "relay:lock:channel-test-run"
TEST_DUE_KEY = "relay:channel-test:due"
TEST_RUN_LOCK_MS = 30 * 60 * 1000
ROLE_ROOT = 100
_NODE = uuid.uuid4().hex


async def mark_fresh(redis: Any, channel_id: int) -> None:
    """Forget a channel's counted attempts so far (after it is disabled or re-enabled)."""
    await redis.hset(health.SINCE_KEY, str(channel_id), int(time.time()))


async def disable_channel(
    ctx: AdminContext, channel_id: int, reason: str, key_index: int = -1
) -> bool:
    """new-api's DisableChannel: status 3 (or, on a multi-key channel, the key `key_index`, and
    status 3 once no key is left), only from status 1 and only with auto_ban on."""
    async with ctx.engine.begin() as conn:
        row = await get_channel(conn, channel_id)
        if row is None or int(row["status"]) != STATUS_ENABLED or int(row["auto_ban"]) != 1:
            return False
        now = int(time.time())
        info = parse_info(row["channel_info"])
        values: dict[str, Any] = {}
        channel_reason, target = reason, f"#{channel_id}"
        if info["is_multi_key"] and key_index >= 0:
            count = len(open_keys(ctx, row))
            if key_index >= count or key_statuses(info, count)[key_index] != STATUS_ENABLED:
                return False
            info["multi_key_status_list"][str(key_index)] = STATUS_AUTO_DISABLED
            for extra, value in (
                ("multi_key_disabled_reason", reason),
                ("multi_key_disabled_time", now),
            ):
                if not isinstance(info.get(extra), dict):
                    info[extra] = {}
                info[extra][str(key_index)] = value
            values["channel_info"] = dump_json(info)
            target = f"key #{key_index} of channel #{channel_id}"
            left = STATUS_ENABLED in key_statuses(info, count)
            channel_reason = "" if left else "All keys are disabled"
        if channel_reason:
            other = parse_object(row["other_info"])
            other.update(status_reason=channel_reason, status_time=now)
            values.update(status=STATUS_AUTO_DISABLED, other_info=dump_json(other))
        await update_channel(conn, channel_id, values)
        await audit.record(
            conn,
            SYSTEM,
            "auto-disabled",
            target,
            before=audit_view(row),
            after={**audit_view({**row, **values}), "reason": reason},
        )
    await mark_fresh(ctx.redis, channel_id)
    log.warning("channel %s disabled: %s", target, reason)
    return True


async def enable_channel(ctx: AdminContext, channel_id: int, key_index: int = -1) -> bool:
    """new-api's EnableChannel after a passing test: only from status 3 (never 2)."""
    async with ctx.engine.begin() as conn:
        row = await get_channel(conn, channel_id)
        if row is None or int(row["status"]) != STATUS_AUTO_DISABLED:
            return False
        info = parse_info(row["channel_info"])
        values: dict[str, Any] = {"status": STATUS_ENABLED}
        if info["is_multi_key"] and key_index >= 0:
            info["multi_key_status_list"].pop(str(key_index), None)
            for extra in ("multi_key_disabled_reason", "multi_key_disabled_time"):
                if isinstance(info.get(extra), dict):
                    info[extra].pop(str(key_index), None)
            values["channel_info"] = dump_json(info)
        other = parse_object(row["other_info"])
        other.update(status_reason="", status_time=int(time.time()))
        values["other_info"] = dump_json(other)
        await update_channel(conn, channel_id, values)
        await audit.record(
            conn,
            SYSTEM,
            "auto-enabled",
            f"#{channel_id}",
            before=audit_view(row),
            after=audit_view({**row, **values}),
        )
    await mark_fresh(ctx.redis, channel_id)
    log.warning("channel #%d re-enabled after a passing test", channel_id)
    return True


async def _acquire(redis: Any, name: str, ms: int) -> bool:
    return bool(await redis.set(name, _NODE, nx=True, px=ms))


async def _release(redis: Any, name: str) -> None:
    if await redis.get(name) in (_NODE, _NODE.encode()):
        await redis.delete(name)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def window_counts(
    redis: Any, window_minutes: int, now: float | None = None
) -> dict[int, dict[str, list[int]]]:
    """channel id → key id → [attempts, qualifying errors] over the window, skipping buckets
    from before the channel was last disabled or re-enabled."""
    now = time.time() if now is None else now
    last = health.bucket_of(now)
    first = health.bucket_of(now - window_minutes * 60) + 1
    pipe = redis.pipeline(transaction=False)
    for bucket in range(first, last + 1):
        pipe.hgetall(health.bucket_key(bucket))
    pipe.hgetall(health.SINCE_KEY)
    *buckets, since_raw = await pipe.execute()
    since = {int(_text(k)): int(_text(v)) for k, v in since_raw.items()}
    out: dict[int, dict[str, list[int]]] = {}
    for bucket, fields in zip(range(first, last + 1), buckets, strict=True):
        start = bucket * health.BUCKET_SECONDS
        for raw_field, raw_count in fields.items():
            parsed = health.parse_field(_text(raw_field))
            if parsed is None:
                continue
            channel_id, kid, bad = parsed
            if start <= since.get(channel_id, -1):
                continue
            counts = out.setdefault(channel_id, {}).setdefault(kid, [0, 0])
            n = int(_text(raw_count))
            counts[0] += n
            if bad:
                counts[1] += n
    return out


def _over(counts: list[int], min_requests: int, rate: float) -> bool:
    attempts, errors = counts
    return attempts >= min_requests and errors >= rate * attempts and errors > 0


class ChannelHealth:
    """The admin process's channel jobs (one instance per process)."""

    def __init__(self, ctx: AdminContext) -> None:
        self.ctx = ctx
        self._run: asyncio.Task[int] | None = None

    # ---- error-rate auto-disable ------------------------------------------------------

    async def evaluate(self) -> int:
        """One pass of the error-rate check; returns how many channels or keys it disabled."""
        options, _ = await self.ctx.options()
        if not options["AutomaticDisableChannelEnabled"]:
            return 0
        redis = self.ctx.redis
        if not await _acquire(redis, EVALUATE_LOCK, int(EVALUATE_SECONDS * 900)):
            return 0
        window = options["relay.channel_error_window_minutes"]
        rate = options["relay.channel_error_rate"]
        minimum = options["relay.channel_error_min_requests"]
        changed = 0
        for channel_id, by_key in (await window_counts(redis, window)).items():
            total = [sum(c[0] for c in by_key.values()), sum(c[1] for c in by_key.values())]
            if _over(total, minimum, rate) or any(_over(c, minimum, rate) for c in by_key.values()):
                changed += await self._disable_failing(channel_id, by_key, total, options)
        if changed:
            await self.ctx.changed()
        return changed

    async def _disable_failing(
        self,
        channel_id: int,
        by_key: dict[str, list[int]],
        total: list[int],
        options: Options,
    ) -> int:
        async with self.ctx.engine.connect() as conn:
            row = await get_channel(conn, channel_id)
        if row is None or int(row["status"]) != STATUS_ENABLED or int(row["auto_ban"]) != 1:
            return 0
        window = options["relay.channel_error_window_minutes"]
        rate = options["relay.channel_error_rate"]
        minimum = options["relay.channel_error_min_requests"]

        def reason(counts: list[int]) -> str:
            return (
                f"{counts[1]} of {counts[0]} attempts failed with errors that disable channels "
                f"in the last {window} min (threshold {rate:.0%})"
            )

        if not parse_info(row["channel_info"])["is_multi_key"]:
            if not _over(total, minimum, rate):
                return 0
            return int(await disable_channel(self.ctx, channel_id, reason(total)))
        changed = 0
        for index, key in enumerate(open_keys(self.ctx, row)):
            counts = by_key.get(health.key_id(key)) if key else None
            if counts is not None and _over(counts, minimum, rate):
                changed += await disable_channel(self.ctx, channel_id, reason(counts), index)
        return changed

    # ---- channel tests ------------------------------------------------------------------

    async def apply_outcome(
        self, row: Any, outcome: ProbeOutcome, options: Options, allow_disable: bool
    ) -> int:
        """new-api's performChannelTests decision for one tested channel."""
        status = int(row["status"])
        threshold_ms = float(options["ChannelDisableThreshold"]) * 1000
        should_ban = outcome.error is not None and health.qualifies(outcome.error, options.values)
        reason = outcome.message
        if outcome.ok and threshold_ms and outcome.millis > threshold_ms:
            should_ban = True
            reason = (
                f"response time {outcome.millis / 1000:.2f}s exceeds {threshold_ms / 1000:.2f}s"
            )
        if (
            allow_disable
            and status == STATUS_ENABLED
            and should_ban
            and options["AutomaticDisableChannelEnabled"]
        ):
            return int(await disable_channel(self.ctx, int(row["id"]), reason, outcome.key_index))
        if (
            outcome.ok
            and status == STATUS_AUTO_DISABLED
            and options["AutomaticEnableChannelEnabled"]
        ):
            return int(await enable_channel(self.ctx, int(row["id"]), outcome.key_index))
        return 0

    async def test_all(self, mode: str = "scheduled_all") -> int:
        """Test every channel not manually disabled (only status 3 in passive_recovery mode,
        which never disables); billed to the first root user. Returns status changes."""
        async with self.ctx.engine.connect() as conn:
            rows = await all_channels(conn)
            root_id = await conn.scalar(
                select(func.min(users.c.id)).where(
                    users.c.role >= ROLE_ROOT, users.c.deleted_at.is_(None)
                )
            )
        changed = 0
        for row in sorted(rows, key=lambda r: int(r["id"])):
            status = int(row["status"])
            if status == STATUS_MANUALLY_DISABLED:
                continue
            if mode == "passive_recovery" and status != STATUS_AUTO_DISABLED:
                continue
            options, _ = await self.ctx.options()
            try:
                outcome = await run_channel_test(self.ctx, row, "", int(root_id or 0))
                changed += await self.apply_outcome(
                    row, outcome, options, mode != "passive_recovery"
                )
            except Exception:
                log.exception("testing channel #%s failed", row["id"])
        if changed:
            await self.ctx.changed()
        return changed

    def start_test_all(self) -> bool:
        """`GET /api/channel/test`: run all tests in the background; False if one is running."""
        if self._run is not None and not self._run.done():
            return False
        self._run = asyncio.create_task(self._locked_test_all("scheduled_all"))
        return True

    async def _locked_test_all(self, mode: str) -> int:
        if not await _acquire(self.ctx.redis, TEST_RUN_LOCK, TEST_RUN_LOCK_MS):
            log.info("a channel test run is already going on another node")
            return 0
        try:
            return await self.test_all(mode)
        finally:
            await _release(self.ctx.redis, TEST_RUN_LOCK)

    async def scheduled_tests(self) -> int:
        """Start a test run when one is due (one node per period, by a Redis key's expiry)."""
        options, _ = await self.ctx.options()
        minutes = float(self.ctx.settings.channel_test_minutes)
        mode = "scheduled_all"
        if not minutes:
            if not options["monitor_setting.auto_test_channel_enabled"]:
                return 0
            minutes = float(options["monitor_setting.auto_test_channel_minutes"])
            mode = options["monitor_setting.channel_test_mode"]
        if self._run is not None and not self._run.done():
            return 0
        if not await _acquire(self.ctx.redis, TEST_DUE_KEY, max(int(minutes * 60_000), 1000)):
            return 0
        self._run = asyncio.create_task(self._locked_test_all(mode))
        return 0

    async def close(self) -> None:
        if self._run is not None and not self._run.done():
            self._run.cancel()
            try:
                await self._run
            except (asyncio.CancelledError, Exception):
                log.debug("test run stopped", exc_info=True)


_instances: dict[int, ChannelHealth] = {}


def channel_health(ctx: AdminContext) -> ChannelHealth:
    """The process's ChannelHealth for this context (routes and jobs share it)."""
    found = _instances.get(id(ctx))
    if found is None:
        found = _instances[id(ctx)] = ChannelHealth(ctx)
    return found
