"""The admin process: the admin HTTP API on ADMIN_PORT and the background jobs."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable

import aiohttp
import uvloop
from aiohttp import web

from relay.admin.app import build_app
from relay.admin.channel_health import EVALUATE_SECONDS, SCHEDULE_TICK_SECONDS, channel_health
from relay.admin.context import AdminContext
from relay.admin.drain import StreamDrainer
from relay.admin.retention import INTERVAL_SECONDS as RETENTION_INTERVAL
from relay.admin.retention import LogRetention
from relay.aio import cancel_quietly
from relay.crypto import Keyring
from relay.metrics.errors import ErrorCounter
from relay.metrics.flusher import MetricsFlusher
from relay.metrics.registry import Metrics
from relay.process import settle_heap
from relay.quota.service import QuotaService
from relay.redis_client import connect_redis
from relay.settings import Settings
from relay.store.engine import database_url, make_engine
from relay.store.tokens import BalanceRow

log = logging.getLogger("relay.admin")

DRAIN_IDLE_SECONDS = 0.5
DRAIN_BUSY_SECONDS = 0.2  # under load, a pause between passes lets each batch grow (a pass
# costs the same for 50 entries as for 800: at 0.05 s the admin spent ~200 µs per request at c=1)
REAP_INTERVAL_SECONDS = 5.0


async def _every(
    idle: float, job: Callable[[], Awaitable[int]], name: str, busy: float = 0.0
) -> None:
    """Run `job` forever: after `busy` seconds while it keeps finding work, else after `idle`."""
    while True:
        try:
            found = await job()
        except Exception:
            log.exception("background job %s failed; retrying", name)
            found = 0
        await asyncio.sleep(busy if found else idle)


async def _no_balances(_user_id: int, _token_id: int) -> BalanceRow | None:
    return None


async def serve(settings: Settings, sock: socket.socket, ready_fd: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    redis = await connect_redis(settings, max_connections=32)
    engine = make_engine(database_url(settings))
    ctx = AdminContext(
        settings=settings,
        engine=engine,
        redis=redis,
        keyring=Keyring(settings.crypto_secret),
        quota=QuotaService(redis, settings.hold_lease_seconds, _no_balances),
        http=aiohttp.ClientSession(),
        started=time.time(),
    )
    metrics = Metrics("admin")  # the jobs' Redis and SQL errors, counted from their logs
    errors = ErrorCounter(metrics)
    errors.install()
    flusher = MetricsFlusher(metrics, redis, settings.node_name)
    runner = web.AppRunner(build_app(ctx), access_log=None, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    drainer = StreamDrainer(redis, engine)
    jobs = [
        asyncio.create_task(
            _every(DRAIN_IDLE_SECONDS, drainer.drain_once, "drain", DRAIN_BUSY_SECONDS)
        ),
        asyncio.create_task(_every(REAP_INTERVAL_SECONDS, ctx.quota.reap_expired, "reap holds")),
        asyncio.create_task(flusher.run()),
    ]
    if settings.log_retention_days > 0:
        retention = LogRetention(redis, engine, settings.log_retention_days)
        jobs.append(
            asyncio.create_task(_every(RETENTION_INTERVAL, retention.run_once, "retention"))
        )
    health = channel_health(ctx)
    jobs += [
        asyncio.create_task(
            _every(EVALUATE_SECONDS, health.evaluate, "channel error rates", EVALUATE_SECONDS)
        ),
        asyncio.create_task(
            _every(SCHEDULE_TICK_SECONDS, health.scheduled_tests, "scheduled channel tests")
        ),
    ]
    settle_heap()
    os.write(ready_fd, b"R")
    os.close(ready_fd)
    await stop.wait()
    for task in jobs:
        await cancel_quietly(task)
    await health.close()
    await drainer.drain_once()  # leave as little as possible behind in the streams
    await runner.cleanup()
    await flusher.close()
    errors.uninstall()
    await ctx.http.close()
    await ctx.upstream.close()
    await redis.aclose()
    await engine.dispose()


def run_admin(settings: Settings, sock: socket.socket, ready_fd: int) -> None:
    """Entry point of the forked admin process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(serve(settings, sock, ready_fd))
