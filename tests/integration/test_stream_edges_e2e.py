"""End to end: streaming edge cases — clients that leave, upstreams that cut or stall, usage."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from relay_harness import Backend, MockUpstream, RelayServer, Seeded, Store, running

pytestmark = pytest.mark.integration

DONE = b"data: [DONE]"
MESSAGES = [{"role": "user", "content": "tell me a story"}]


def cost(prompt: int, completion: int) -> int:
    """new-api's settlement for gpt-4o-mini (model ratio 0.075, completion ratio 4), in Decimal."""
    value = (Decimal(prompt) + Decimal(completion) * 4) * Decimal("0.075")
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def chat_body(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True, **extra}


def events(raw: bytes) -> list[bytes]:
    """Split a raw SSE body into its events; asserts it ends on an event boundary."""
    assert raw.endswith(b"\n\n"), raw[-200:]
    return raw[:-2].split(b"\n\n")


def payloads(raw: bytes) -> list[Any]:
    """The JSON of every data event before [DONE]; asserts [DONE] ends the stream."""
    evs = events(raw)
    assert evs[-1] == DONE, evs[-3:]
    out = []
    for ev in evs[:-1]:
        assert ev.startswith(b"data: "), ev
        out.append(orjson.loads(ev.removeprefix(b"data: ")))  # a half event would not parse
    return out


def content(chunks: list[Any]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


async def post_stream(server: RelayServer, key: str, body: dict[str, Any]) -> bytes:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.base_url}/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {key}"},
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        return await resp.read()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return await check()


async def settled(store: Store, s: Seeded) -> dict[str, int]:
    b = await store.balances(s)
    assert b["token_held"] == 0 and b["user_held"] == 0, b
    assert b["token_used"] > 0, b
    return b


async def test_client_that_leaves_mid_stream_is_billed_for_the_partial_output_at_once(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    # 50 words at 200 ms each: the whole stream would take ~10 s and cost cost(10, 50).
    s = await store.scenario(upstream, channels=[{"key": "mock;chunk_delay=200;words=50;pt=10"}])
    async with aiohttp.ClientSession() as http:
        resp = await http.post(
            f"{relay.base_url}/chat/completions",
            json=chat_body(),
            headers={"Authorization": f"Bearer {s.api_key}"},
        )
        assert resp.status == 200
        seen = 0
        while seen < 3:  # the role chunk and two words
            line = await resp.content.readline()
            seen += line.startswith(b"data: ")
        assert (await store.balances(s))["token_held"] > 0
        resp.close()  # drop the connection mid-stream

    async def billed() -> bool:
        b = await store.balances(s)
        return b["token_held"] == 0 and b["token_used"] > 0

    # Settled within ~2 s of leaving, long before the upstream would have finished: relay
    # stopped reading the upstream when the client went, and billed what had been produced.
    assert await eventually(billed, 2.0), await store.balances(s)
    b = await settled(store, s)
    assert b["token_used"] < cost(10, 50)


async def test_upstream_that_cuts_the_stream_ends_the_client_stream_cleanly(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;tag=C;cut=3;words=20"}])
    raw = await post_stream(relay, s.api_key, chat_body())
    assert raw.endswith(DONE + b"\n\n")
    chunks = payloads(raw)
    assert content(chunks) == "[C] Hello from"  # the three words sent before the cut
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)
    await settled(store, s)  # billed for what was produced (counted locally: no usage came)


async def test_streaming_timeout_ends_a_stalled_stream_cleanly(
    backend: Backend, tmp_path: Path, upstream: MockUpstream
) -> None:
    server = RelayServer(backend, tmp_path / "data", workers=1)
    server.extra_env["STREAMING_TIMEOUT"] = "1"
    async with running(server):
        store = Store(server)
        try:
            # The first word comes at once, the next one after 3 s: past STREAMING_TIMEOUT.
            s = await store.scenario(upstream, channels=[{"key": "mock;chunk_delay=3000"}])
            started = time.monotonic()
            raw = await post_stream(server, s.api_key, chat_body())
            elapsed = time.monotonic() - started
            assert content(payloads(raw)) == "Hello"
            assert elapsed < 3.0  # ended by the timeout, not by the upstream's next word
            await settled(store, s)
        finally:
            await store.close()
    assert "Traceback" not in server.log(), server.log()


async def test_usage_chunk_reaches_the_client_only_if_asked(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;pt=9;ct=6;words=6"}])
    unasked = payloads(await post_stream(relay, s.api_key, chat_body()))
    assert all(c["choices"] for c in unasked)
    assert all(c.get("usage") is None for c in unasked)

    asked = payloads(
        await post_stream(relay, s.api_key, chat_body(stream_options={"include_usage": True}))
    )
    with_usage = [c for c in asked if c.get("usage")]
    assert len(with_usage) == 1 and with_usage[0] is asked[-1]
    assert asked[-1]["choices"] == []
    assert asked[-1]["usage"]["prompt_tokens"] == 9
    assert asked[-1]["usage"]["completion_tokens"] == 6
    assert content(unasked) == content(asked)
    b = await settled(store, s)
    assert b["token_used"] == 2 * cost(9, 6)


def normalized(raw: bytes) -> bytes:
    """The stream with its per-response values (id, created) blanked out."""
    raw = re.sub(rb'"id":"[^"]*"', b'"id":"-"', raw)
    return re.sub(rb'"created":\d+', b'"created":0', raw)


async def test_stream_is_relayed_byte_for_byte_when_nothing_is_hidden(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=B;words=9;pt=4;ct=10"
    s = await store.scenario(upstream, channels=[{"key": key}])
    body = chat_body(stream_options={"include_usage": True})
    relayed = await post_stream(relay, s.api_key, body)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{upstream.url}/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {key}"},
        ) as resp,
    ):
        direct = await resp.read()
    relayed_events, direct_events = events(normalized(relayed)), events(normalized(direct))
    assert len(relayed_events) == len(direct_events) == 1 + 10 + 1 + 1 + 1
    for mine, theirs in zip(relayed_events, direct_events, strict=True):
        assert mine == theirs
    assert normalized(relayed) == normalized(direct)
