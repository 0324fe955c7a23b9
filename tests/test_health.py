"""relay.health: which errors count against a channel, and the counters a worker sends."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from relay import health
from relay.errors import RelayError
from relay.options import Options


def options(**rows: str) -> Any:
    return Options.from_rows(rows).values


def test_qualifying_errors_follow_new_api() -> None:
    defaults = options()
    assert health.qualifies(RelayError(500, "x", "channel:no_available_key"), defaults)
    assert health.qualifies(RelayError(500, "x", "", channel_error=True), defaults)
    assert health.qualifies(RelayError(401, "bad key"), defaults)
    assert not health.qualifies(RelayError(429, "slow down"), defaults)
    assert not health.qualifies(RelayError(401, "x", skip_retry=True), defaults)
    assert health.qualifies(RelayError(400, "You exceeded your current QUOTA, sorry"), defaults)
    assert health.qualifies(RelayError(403, "permission denied for model"), defaults)
    custom = options(AutomaticDisableStatusCodes="401,403,500-503", AutomaticDisableKeywords="")
    assert health.qualifies(RelayError(502, "bad gateway"), custom)
    assert not health.qualifies(RelayError(400, "Permission denied"), custom)


def test_counter_fields_round_trip_without_the_key() -> None:
    field = health.counter_field(42, "sk-secret-key", True)
    assert "secret" not in field
    assert health.parse_field(field) == (42, health.key_id("sk-secret-key"), True)
    assert health.parse_field(health.counter_field(7, "", False)) == (7, health.key_id(""), False)
    assert health.key_id("a") != health.key_id("b") and len(health.key_id("a")) == 8
    for bad in ("x", "1:2", "a:b:e", "1:k:z", "1:k:e:x"):
        assert health.parse_field(bad) is None
    assert health.bucket_of(1_000_009.9) == 100_000
    assert health.bucket_key(5) == "relay:chh:5"


class FakePipelined:
    """Records commands as relay.redis_pipe.PipelinedRedis would send them."""

    def __init__(self, connected: bool) -> None:
        self.connected = connected
        self.sent: list[tuple[Any, ...]] = []

    def send_nowait(self, *args: Any) -> asyncio.Future[Any] | None:
        if not self.connected:
            return None
        self.sent.append(args)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        fut.set_exception(ConnectionError("lost"))  # a failure is swallowed, never raised
        return fut

    async def execute(self, *args: Any) -> Any:
        self.sent.append(args)
        return 1


class Ctx:
    def __init__(self, pipelined: Any, redis: Any = None) -> None:
        self.pipelined = pipelined
        self.redis = redis


async def test_report_sends_one_counter_and_one_ttl_per_bucket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(health, "_expired_bucket", -1)
    monkeypatch.setattr(health.time, "time", lambda: 1000.0)
    pipe = FakePipelined(connected=True)
    health.report(Ctx(pipe), 3, "k", True)
    health.report(Ctx(pipe), 3, "k", False)
    await asyncio.sleep(0)
    field = f"3:{health.key_id('k')}"
    assert pipe.sent == [
        ("HINCRBY", "relay:chh:100", f"{field}:e", 1),
        ("EXPIRE", "relay:chh:100", health.BUCKET_TTL_SECONDS),
        ("HINCRBY", "relay:chh:100", f"{field}:n", 1),
    ]
    monkeypatch.setattr(health.time, "time", lambda: 1010.0)
    offline = FakePipelined(connected=False)
    health.report(Ctx(offline), 3, "k", False)
    await asyncio.sleep(0)
    assert [c[0] for c in offline.sent] == ["HINCRBY", "EXPIRE"]  # sent by a task instead


async def test_report_without_a_pipelined_connection_uses_the_client() -> None:
    sent: list[tuple[Any, ...]] = []

    class Client:
        async def execute_command(self, *args: Any) -> Any:
            sent.append(args)
            return 1

    health.report(Ctx(None, Client()), 9, "k", False)
    await asyncio.sleep(0)
    assert sent[0][0] == "HINCRBY" and sent[0][2].startswith("9:")
