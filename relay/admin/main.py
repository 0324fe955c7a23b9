"""The admin process: the admin HTTP API on ADMIN_PORT and the background jobs."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable

import uvloop
from aiohttp import web

from relay import __version__
from relay.admin.drain import StreamDrainer
from relay.aio import cancel_quietly
from relay.options import Options
from relay.quota.service import QuotaService
from relay.redis_client import connect_redis
from relay.settings import Settings
from relay.store.engine import database_url, make_engine
from relay.store.options import all_options
from relay.store.tokens import BalanceRow
from relay.store.users import count_users

log = logging.getLogger("relay.admin")

DRAIN_IDLE_SECONDS = 0.5
DRAIN_BUSY_SECONDS = 0.05  # under load, a pause between passes lets each batch grow
REAP_INTERVAL_SECONDS = 5.0

ENGINE = web.AppKey("engine", object)
STARTED = web.AppKey("started", float)


async def status(request: web.Request) -> web.Response:
    """GET /api/status: public facts the console and new-api tooling read first."""
    engine = request.app[ENGINE]
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        rows = await all_options(conn)
        has_users = await count_users(conn) > 0
    options = Options.from_rows(rows)
    display = options["general_setting.quota_display_type"]
    data = {
        "version": __version__,
        "start_time": int(request.app[STARTED]),
        "system_name": rows.get("SystemName", "New API"),
        "logo": rows.get("Logo", ""),
        "footer_html": rows.get("Footer", ""),
        "server_address": rows.get("ServerAddress", ""),
        "quota_per_unit": options["QuotaPerUnit"],
        "quota_display_type": display,
        "display_in_currency": options["DisplayInCurrencyEnabled"],
        "usd_exchange_rate": options["USDExchangeRate"],
        "self_use_mode_enabled": options["SelfUseModeEnabled"],
        "register_enabled": rows.get("RegisterEnabled", "true") == "true",
        "password_login_enabled": rows.get("PasswordLoginEnabled", "true") == "true",
        "password_register_enabled": rows.get("PasswordRegisterEnabled", "true") == "true",
        "email_verification": rows.get("EmailVerificationEnabled", "false") == "true",
        "github_oauth": rows.get("GitHubOAuthEnabled", "false") == "true",
        "oidc_enabled": rows.get("oidc.enabled", "false") == "true",
        "turnstile_check": False,
        "setup": has_users,
    }
    return web.json_response({"success": True, "message": "", "data": data})


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
    app = web.Application()
    app[ENGINE] = engine
    app[STARTED] = time.time()
    app.router.add_get("/api/status", status)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    drainer = StreamDrainer(redis, engine)
    quota = QuotaService(redis, settings.hold_lease_seconds, _no_balances)
    jobs = [
        asyncio.create_task(
            _every(DRAIN_IDLE_SECONDS, drainer.drain_once, "drain", DRAIN_BUSY_SECONDS)
        ),
        asyncio.create_task(_every(REAP_INTERVAL_SECONDS, quota.reap_expired, "reap holds")),
    ]
    os.write(ready_fd, b"R")
    os.close(ready_fd)
    await stop.wait()
    for task in jobs:
        await cancel_quietly(task)
    await drainer.drain_once()  # leave as little as possible behind in the streams
    await runner.cleanup()
    await redis.aclose()
    await engine.dispose()


def run_admin(settings: Settings, sock: socket.socket, ready_fd: int) -> None:
    """Entry point of the forked admin process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(serve(settings, sock, ready_fd))
