"""relay.redis_pipe against a real Redis (embedded, and TEST_REDIS_URL's db 14 when set)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import redis as sync_redis
from backing_stores import redis_params, redis_server

from relay.redis_pipe import PipelinedRedis, PipelinedScript, RedisReplyError


@pytest.fixture(scope="module", params=redis_params())
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(request.param, tmp_path_factory.mktemp("redis")) as server_url:
        yield server_url


@pytest.fixture
async def client(url: str) -> AsyncIterator[PipelinedRedis]:
    c = PipelinedRedis(url)
    yield c
    await c.aclose()


async def test_concurrent_commands_are_answered_in_order(client: PipelinedRedis) -> None:
    await client.execute("DEL", "pipe:n")
    replies = await asyncio.gather(*[client.execute("INCR", "pipe:n") for _ in range(500)])
    assert replies == list(range(1, 501))


async def test_errors_reach_their_own_caller_only(client: PipelinedRedis) -> None:
    await client.execute("SET", "pipe:s", "text")
    ok, bad, ok2 = await asyncio.gather(
        client.execute("GET", "pipe:s"),
        client.execute("INCR", "pipe:s"),
        client.execute("ECHO", "x"),
        return_exceptions=True,
    )
    assert ok == b"text" and ok2 == b"x"
    assert isinstance(bad, RedisReplyError)


async def test_script_loads_itself_after_noscript(client: PipelinedRedis, url: str) -> None:
    script = PipelinedScript(client, "return {KEYS[1], ARGV[1] + 1}")
    await client.execute("SCRIPT", "FLUSH")
    assert await script(keys=["k"], args=[41]) == [b"k", 42]
    assert await script(keys=["k"], args=[1]) == [b"k", 2]  # now by EVALSHA
    assert await client.execute("SCRIPT", "EXISTS", script.sha) == [1]


async def test_a_flushed_send_is_on_the_wire_at_once(client: PipelinedRedis, url: str) -> None:
    await client.execute("DEL", "pipe:now")
    fut = client.send_nowait("SET", "pipe:now", "1", flush=True)
    assert fut is not None
    # Another connection sees the write while this loop never turns: it left before the return.
    other = sync_redis.Redis.from_url(url)
    try:
        for _ in range(200):
            if other.get("pipe:now") == b"1":
                break
            time.sleep(0.005)
        assert other.get("pipe:now") == b"1"
    finally:
        other.close()
    assert await fut == b"OK"


async def test_registered_scripts_are_loaded_on_connect(url: str) -> None:
    fresh = PipelinedRedis(url)
    script = PipelinedScript(fresh, "return 'loaded-on-connect'")
    try:
        await fresh.execute("SCRIPT", "FLUSH")
        await fresh.aclose()  # the next call connects again, and loads it
        assert await fresh.execute("SCRIPT", "EXISTS", script.sha) == [1]
    finally:
        await fresh.aclose()


async def test_a_sent_script_loads_itself_after_noscript(client: PipelinedRedis) -> None:
    script = PipelinedScript(client, "return ARGV[1] * 2")
    await client.execute("SCRIPT", "FLUSH")
    fut = script.send(keys=[], args=[21])
    assert fut is not None
    assert await fut == 42
    fut = script.send(keys=[], args=[2])
    assert fut is not None and await fut == 4


async def test_a_sent_script_reports_its_error(client: PipelinedRedis) -> None:
    script = PipelinedScript(client, "return redis.call('INCR', KEYS[1])")
    await client.execute("SET", "pipe:text", "x")
    fut = script.send(keys=["pipe:text"], args=[])
    assert fut is not None
    with pytest.raises(RedisReplyError):
        await fut


def test_nothing_is_sent_before_connecting(url: str) -> None:
    idle = PipelinedRedis(url)
    assert idle.send_nowait("PING", flush=True) is None
    assert PipelinedScript(idle, "return 1").send(keys=[], args=[]) is None


async def test_a_cancelled_caller_does_not_shift_later_answers(client: PipelinedRedis) -> None:
    await client.execute("SET", "pipe:a", "A")
    slow = asyncio.ensure_future(client.execute("GET", "pipe:a"))
    slow.cancel()
    assert await client.execute("ECHO", "after") == b"after"
    with pytest.raises(asyncio.CancelledError):
        await slow


async def test_reconnects_after_the_connection_is_lost(client: PipelinedRedis, url: str) -> None:
    assert await client.execute("PING") == b"PONG"
    name = f"pipe-{id(client)}"
    await client.execute("CLIENT", "SETNAME", name)
    with sync_redis.Redis.from_url(url) as admin:
        for info in admin.client_list():
            if info.get("name") == name:
                admin.client_kill_filter(_id=info["id"])
    await asyncio.sleep(0.05)
    # The first call after the loss either fails fast or succeeds on a new connection;
    # the next one always works.
    with contextlib.suppress(ConnectionError):
        await client.execute("PING")
    assert await client.execute("PING") == b"PONG"
