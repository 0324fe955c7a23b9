"""`GET /metrics` on the admin port: the node's metrics for Prometheus, optionally behind a
bearer token (METRICS_TOKEN)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisError

from relay.metrics.exposition import CONTENT_TYPE, scrape
from relay.settings import Settings

log = logging.getLogger("relay.metrics")

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _authorized(request: web.Request, token: str) -> bool:
    given = request.headers.get("Authorization", "")
    if given[:7].lower() != "bearer ":
        return False
    return hmac.compare_digest(given[7:].strip().encode(), token.encode())


def metrics_handler(settings: Settings, redis: object) -> Handler:
    async def metrics(request: web.Request) -> web.Response:
        if not settings.metrics_enabled:
            return web.Response(status=404, text="metrics are off (METRICS_ENABLED=false)\n")
        if settings.metrics_token and not _authorized(request, settings.metrics_token):
            return web.Response(
                status=401,
                text="metrics need Authorization: Bearer <METRICS_TOKEN>\n",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        try:
            body = await scrape(redis, settings.node_name)
        except (RedisError, OSError) as exc:
            log.warning("reading metrics from Redis failed: %s", type(exc).__name__)
            return web.Response(status=503, text="metrics store (Redis) unavailable\n")
        return web.Response(body=body.encode(), headers={"Content-Type": CONTENT_TYPE})

    return metrics
