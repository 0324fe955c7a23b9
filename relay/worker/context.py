"""The state one worker process shares across its requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from relay.auth import PrincipalCache
from relay.catalog import Catalog
from relay.crypto import Keyring
from relay.http.client import UpstreamClient
from relay.metrics.registry import Metrics
from relay.quota.service import QuotaService
from relay.redis_pipe import PipelinedRedis
from relay.settings import Settings
from relay.tokenizer import Tokenizer


@dataclass
class WorkerContext:
    """Long-lived per-process objects. `catalog` is swapped whole when SQL data changes."""

    settings: Settings
    redis: Any
    engine: AsyncEngine
    keyring: Keyring
    principals: PrincipalCache
    quota: QuotaService
    tokenizer: Tokenizer
    upstream: UpstreamClient
    catalog: Catalog
    pipelined: PipelinedRedis | None = None  # the hot path's Redis connection (not on Cluster)
    key_cursor: dict[int, int] = field(default_factory=dict)  # polling multi-key channels
    metrics: Metrics = field(default_factory=lambda: Metrics("worker"))  # flushed by main
