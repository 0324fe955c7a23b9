"""Connect to Redis: the embedded server's unix socket, a standalone server, or a Cluster."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from relay.settings import Settings


def redis_url(settings: Settings) -> str:
    if settings.redis_url:
        return settings.redis_url
    return f"unix://{settings.redis_socket}"


async def connect_redis(settings: Settings, *, max_connections: int = 256) -> Any:
    """A ready client: RedisCluster when the server reports cluster mode, else Redis."""
    url = redis_url(settings)
    # A burst of more concurrent calls than connections waits for one instead of failing.
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=30
    )
    client = aioredis.Redis.from_pool(pool)  # owns the pool: aclose() closes it
    if url.startswith("unix://"):
        await client.ping()
        return client
    info = await client.info("cluster")
    if info.get("cluster_enabled") in (1, "1"):
        await client.aclose()
        cluster = RedisCluster.from_url(url, max_connections=max_connections)
        await cluster.initialize()
        return cluster
    return client
