"""A worker process: builds its context, serves the shared socket, drains on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from typing import Any

import uvloop
from redis.asyncio.cluster import RedisCluster
from sqlalchemy.ext.asyncio import AsyncEngine

from relay import events
from relay.aio import cancel_quietly
from relay.auth import PrincipalCache
from relay.catalog import load_catalog
from relay.crypto import Keyring
from relay.http.client import UpstreamClient
from relay.http.server import HttpServer
from relay.metrics.errors import ErrorCounter
from relay.metrics.flusher import MetricsFlusher
from relay.metrics.registry import Metrics, NoMetrics
from relay.process import settle_heap
from relay.quota.service import QuotaService
from relay.redis_client import connect_redis, redis_url
from relay.redis_pipe import PipelinedRedis
from relay.settings import Settings
from relay.store.engine import database_url, make_engine
from relay.store.tokens import BalanceRow, balance_row
from relay.tokenizer import Tokenizer
from relay.worker.context import WorkerContext
from relay.worker.handlers import Handlers
from relay.worker.request_meta import RequestIds
from relay.worker.server import RelayDispatcher

log = logging.getLogger("relay.worker")

NEW_CONNECTION_GRACE = 1.0  # seconds a draining worker waits for a new connection's request


def _balance_loader(engine: AsyncEngine) -> Any:
    async def load(user_id: int, token_id: int) -> BalanceRow | None:
        async with engine.connect() as conn:
            return await balance_row(conn, user_id, token_id)

    return load


class CatalogReloader:
    """Coalesces change events into reloads of the catalog; also reloads every SYNC_FREQUENCY."""

    def __init__(self, ctx: WorkerContext) -> None:
        self._ctx = ctx
        self._wanted = asyncio.Event()

    def request(self) -> None:
        self._wanted.set()

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wanted.wait(), self._ctx.settings.sync_frequency)
            self._wanted.clear()
            try:
                self._ctx.catalog = await load_catalog(
                    self._ctx.engine, self._ctx.keyring, self._ctx.settings
                )
            except Exception:
                log.exception("reloading channels and options failed; keeping the old ones")

    async def on_event(self, event: str) -> None:
        if event == events.ROUTING:
            self.request()
        elif event.startswith("token:"):
            await self._ctx.principals.invalidate_token(event.removeprefix("token:"))
        elif event.startswith("user:"):
            await self._ctx.principals.invalidate_user(int(event.removeprefix("user:")))

    async def on_connect(self) -> None:
        self._ctx.principals.clear()
        self.request()


async def build_context(settings: Settings) -> WorkerContext:
    redis = await connect_redis(settings)
    pipelined = None if isinstance(redis, RedisCluster) else PipelinedRedis(redis_url(settings))
    engine = make_engine(database_url(settings), pool_size=2)
    keyring = Keyring(settings.crypto_secret)
    catalog = await load_catalog(engine, keyring, settings)
    tokenizer = Tokenizer()
    tokenizer.load_in_background()
    return WorkerContext(
        metrics=Metrics("worker") if settings.metrics_enabled else NoMetrics("worker"),
        settings=settings,
        redis=redis,
        engine=engine,
        keyring=keyring,
        principals=PrincipalCache(redis, engine, settings.sync_frequency),
        quota=QuotaService(redis, settings.hold_lease_seconds, _balance_loader(engine), pipelined),
        pipelined=pipelined,
        tokenizer=tokenizer,
        upstream=UpstreamClient(),
        catalog=catalog,
    )


async def close_context(ctx: WorkerContext) -> None:
    await ctx.quota.drain()
    await ctx.upstream.close()
    if ctx.pipelined is not None:
        await ctx.pipelined.aclose()
    await ctx.redis.aclose()
    await ctx.engine.dispose()


async def serve(settings: Settings, sock: socket.socket, ready_fd: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    ctx = await build_context(settings)
    errors = ErrorCounter(ctx.metrics)
    errors.install()
    flusher = MetricsFlusher(ctx.metrics, ctx.redis, settings.node_name)
    reloader = CatalogReloader(ctx)
    handlers = Handlers(ctx)
    server = HttpServer(
        RelayDispatcher(handlers, RequestIds(settings.node_name)), settings.max_request_body_bytes
    )
    listener = await loop.create_server(server.protocol, sock=sock, backlog=4096)
    background = [
        asyncio.create_task(reloader.run()),
        asyncio.create_task(events.listen(ctx.redis, reloader.on_event, reloader.on_connect)),
        asyncio.create_task(ctx.quota.run_lease_renewal()),
        asyncio.create_task(flusher.run()),
    ]
    settle_heap()
    os.write(ready_fd, b"R")
    os.close(ready_fd)
    log.info("worker %d serving", os.getpid())
    await stop.wait()
    log.info("worker %d draining (up to %.0f s)", os.getpid(), settings.shutdown_timeout)
    listener.close()
    # Connections accepted just before the close get a moment to send their request; then
    # idle keep-alive connections close and busy ones finish their response (and streams).
    await server.drain(settings.shutdown_timeout, NEW_CONNECTION_GRACE)
    for task in background:
        await cancel_quietly(task)
    await flusher.close()  # the drained requests' last counts
    errors.uninstall()
    await handlers.realtime.close()
    await close_context(ctx)


def run_worker(settings: Settings, sock: socket.socket, ready_fd: int) -> None:
    """Entry point of a forked worker process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor turns Ctrl-C into SIGTERM
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(serve(settings, sock, ready_fd))
