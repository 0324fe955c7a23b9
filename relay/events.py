"""Change notifications over Redis pub/sub: every worker on every node reloads within a second."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("relay.events")

CHANNEL = "relay:events"
ROUTING = "routing"  # channels, abilities or options changed


def token_event(digest: str) -> str:
    return f"token:{digest}"


def user_event(user_id: int) -> str:
    return f"user:{user_id}"


async def publish(redis: Any, event: str) -> None:
    await redis.publish(CHANNEL, event)


Handler = Callable[[str], Awaitable[None]]


async def listen(redis: Any, handler: Handler, on_connect: Callable[[], Awaitable[None]]) -> None:
    """Deliver events to `handler` forever, reconnecting after errors.

    `on_connect` runs after every (re)subscription: events sent while disconnected are lost,
    so the caller reloads everything then.
    """
    while True:
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(CHANNEL)
            await on_connect()
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                data = message["data"]
                await handler(data.decode() if isinstance(data, bytes) else str(data))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("event subscription lost; reconnecting")
            await asyncio.sleep(1.0)
        finally:
            try:
                await pubsub.aclose()
            except Exception:
                log.debug("closing pubsub failed", exc_info=True)
