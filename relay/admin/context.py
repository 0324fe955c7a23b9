"""The state the admin process shares across its requests and jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from relay import events
from relay.crypto import Keyring
from relay.http.client import UpstreamClient
from relay.options import Options
from relay.quota.service import QuotaService
from relay.settings import Settings
from relay.store.options import all_options


@dataclass
class AdminContext:
    settings: Settings
    engine: AsyncEngine
    redis: Any
    keyring: Keyring
    quota: QuotaService
    http: aiohttp.ClientSession
    started: float
    # relay's own client (channel proxies included) for requests made as a channel
    upstream: UpstreamClient = field(default_factory=UpstreamClient)

    async def options(self) -> tuple[Options, dict[str, str]]:
        """The options in force (typed) and the raw rows, read fresh from SQL."""
        async with self.engine.connect() as conn:
            rows = await all_options(conn)
        return Options.from_rows(rows), rows

    async def changed(self, event: str = events.ROUTING) -> None:
        """Tell every worker on every node to reload (channels/options) or drop a cache entry."""
        await events.publish(self.redis, event)
