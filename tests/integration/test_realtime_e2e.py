"""End to end: OpenAI Realtime WebSocket sessions through a real `relay serve` to the mock.

Clients are the openai SDK's realtime connections (GA and beta) and the `websockets` library
for what the SDK does not expose (subprotocol auth, binary frames, pings, close codes).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import openai
import orjson
import pytest
import websockets
from relay_harness import MockUpstream, RelayServer, Scenario, Store

pytestmark = pytest.mark.integration

MODEL = "gpt-4o-realtime-preview"  # model ratio 2.5, completion 4, audio 8, audio completion 1
HOLD = 1250  # PreConsumedQuota 500 × 2.5


def charge(text_in: int, text_out: int, audio_in: int = 0, audio_out: int = 0) -> int:
    """new-api's realtime formula for MODEL, computed independently."""
    tokens = text_in + text_out * 4 + audio_in * 8 + audio_out * 8
    value = Decimal(tokens) * Decimal("2.5")
    return max(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)), 1)


def unique(key: str) -> str:
    """A mock key no other session uses (the mock outlives this module's backends)."""
    return f"{key};n={uuid.uuid4().hex[:8]}"


def ws_url(relay: RelayServer, model: str = MODEL) -> str:
    return relay.url.replace("http://", "ws://") + f"/v1/realtime?model={model}"


async def scenario(
    store: Store, upstream: MockUpstream, key: str, remain: int = 100_000_000, **spec: Any
) -> Scenario:
    """A funded token whose group's one channel (mock behaviour `key`) serves MODEL."""
    channels = [{"key": key, **spec}]
    return await store.scenario(upstream, channels=channels, models=(MODEL,), remain=remain)


async def settled(store: Store, s: Scenario, timeout: float = 5.0) -> dict[str, int]:
    """The balances once no hold is left (the session's end is settled asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        balances = await store.balances(s)
        held = balances["token_held"] or balances["user_held"]
        if not held or time.monotonic() > deadline:
            return balances
        await asyncio.sleep(0.05)


async def mock_record(upstream: MockUpstream, key: str, closed: bool = True) -> dict[str, Any]:
    """The mock's record of the session (after the close code arrived, when `closed`)."""
    for _ in range(100):
        calls = await upstream.calls(key)
        if calls and (not closed or calls[-1]["close_code"] is not None):
            return calls[-1]
        await asyncio.sleep(0.05)
    raise AssertionError("the mock saw no (closed) realtime session")


async def next_event(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        event = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        if event["type"] == kind:
            return event


async def test_sdk_session_is_proxied_and_each_response_billed(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = unique("mock;tag=R;pt=20;ct=10;ain=30;aout=40;words=4")
    mapping = orjson.dumps({MODEL: "gpt-realtime"}).decode()
    s = await scenario(store, upstream, key, model_mapping=mapping)
    api = openai.AsyncOpenAI(base_url=relay.base_url, api_key=s.api_key, max_retries=0)
    texts = []
    async with api.realtime.connect(model=MODEL) as conn:
        first = await conn.recv()
        assert first.type == "session.created"
        for _ in range(2):
            await conn.conversation.item.create(
                item={"type": "message", "role": "user",
                      "content": [{"type": "input_text", "text": "hello there"}]}
            )  # fmt: skip
            await conn.response.create()
            deltas = []
            async for event in conn:
                if event.type == "response.output_text.delta":
                    deltas.append(event.delta)
                if event.type == "response.done":
                    assert event.response.usage is not None
                    assert event.response.usage.input_tokens == 50
                    break
            texts.append("".join(deltas))
    assert texts[0].startswith("[R]") and texts[0] == texts[1]
    one = charge(20, 10, 30, 40)
    balances = await settled(store, s)
    assert balances["token_used"] == 2 * one and balances["user_held"] == 0
    record = await mock_record(upstream, key)
    assert record["query"]["model"] == "gpt-realtime"  # the mapped model goes upstream
    assert record["headers"]["authorization"] == f"Bearer {key}"
    assert "openai-beta" not in record["headers"]  # GA models refuse the beta marker
    kinds = [e["type"] for e in record["events"]]
    assert kinds.count("response.create") == 2 and kinds.count("conversation.item.create") == 2
    await store.wait_drained()
    rows = await store.scalar(
        "SELECT count(*) FROM logs WHERE token_id = :t AND quota = :q", t=s.token_id, q=one
    )
    assert rows == 2
    other = orjson.loads(
        await store.scalar("SELECT other FROM logs WHERE token_id = :t LIMIT 1", t=s.token_id)
    )
    assert other["ws"] is True and other["audio_input"] == 30 and other["audio_output"] == 40
    assert other["audio_ratio"] == 8 and other["upstream_model_name"] == "gpt-realtime"
    prompt = await store.scalar(
        "SELECT prompt_tokens FROM logs WHERE token_id = :t LIMIT 1", t=s.token_id
    )
    assert prompt == 50


async def test_beta_sdk_sends_the_beta_marker_and_gets_beta_events(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = unique("mock;tag=B;pt=3;ct=2;words=3")
    s = await scenario(store, upstream, key)
    ws_base = relay.base_url.replace("http://", "ws://")  # the beta client assumes wss otherwise
    api = openai.AsyncOpenAI(
        base_url=relay.base_url, websocket_base_url=ws_base, api_key=s.api_key, max_retries=0
    )
    async with api.beta.realtime.connect(model=MODEL) as conn:
        assert (await conn.recv()).type == "session.created"
        await conn.response.create()
        deltas = []
        async for event in conn:
            if event.type == "response.text.delta":
                deltas.append(event.delta)
            if event.type == "response.done":
                break
    assert "".join(deltas).startswith("[B]")
    record = await mock_record(upstream, key)
    assert record["headers"]["openai-beta"] == "realtime=v1"
    assert (await settled(store, s))["token_used"] == charge(3, 2)


async def test_subprotocol_auth_binary_ping_and_close_codes(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = unique("mock;tag=P;pt=1;ct=1")
    s = await scenario(store, upstream, key)
    protocols = ["realtime", f"openai-insecure-api-key.{s.api_key}", "openai-beta.realtime-v1"]
    async with websockets.connect(ws_url(relay), subprotocols=protocols) as ws:
        assert ws.subprotocol == "realtime"  # echoed, as new-api / OpenAI do
        assert ws.response.headers["X-Oneapi-Request-Id"]
        await next_event(ws, "session.created")
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        audio = bytes(range(256)) * 40
        await ws.send(audio)
        assert await asyncio.wait_for(ws.recv(), 5) == audio  # binary both ways, untouched
        await ws.send(orjson.dumps({"type": "input_audio_buffer.append", "audio": "AAAA"}).decode())
        await ws.send(orjson.dumps({"type": "input_audio_buffer.commit"}).decode())
        await next_event(ws, "input_audio_buffer.committed")
        await ws.close(4001, "client says bye")
    record = await mock_record(upstream, key)
    assert record["close_code"] == 4001
    offered = record["headers"]["sec-websocket-protocol"]
    assert f"openai-insecure-api-key.{key}" in offered and "openai-beta.realtime-v1" in offered
    assert "authorization" not in record["headers"]
    assert record["events"][0] == {"binary": len(audio)}
    assert {"type": "input_audio_buffer.append", "audio": 4} in record["events"]
    balances = await settled(store, s)
    assert balances["token_used"] == 0 and balances["token_held"] == 0  # nothing answered


async def test_upstream_close_code_reaches_the_client(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = unique("mock;tag=C")
    s = await scenario(store, upstream, key)
    headers = {"Authorization": f"Bearer {s.api_key}"}
    async with websockets.connect(ws_url(relay), additional_headers=headers) as ws:
        await next_event(ws, "session.created")
        await ws.send(orjson.dumps({"type": "mock.close", "code": 4100, "reason": "gone"}).decode())
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4100
    assert (await settled(store, s))["token_held"] == 0


async def test_azure_channel_is_dialled_at_its_deployment(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = unique("mock;tag=Z;pt=3;ct=2")
    s = await scenario(store, upstream, key, type=3, other="2024-10-01-preview")
    protocols = ["realtime", f"openai-insecure-api-key.{s.api_key}"]
    async with websockets.connect(ws_url(relay), subprotocols=protocols) as ws:
        await next_event(ws, "session.created")
        await ws.send(orjson.dumps({"type": "response.create"}).decode())
        await next_event(ws, "response.done")
    record = await mock_record(upstream, key)
    assert record["path"] == "/openai/realtime"
    assert record["query"] == {"deployment": MODEL, "api-version": "2024-10-01-preview"}
    assert record["headers"]["api-key"] == key  # Azure's header, whatever the client used
    assert "sec-websocket-protocol" not in record["headers"]
    assert (await settled(store, s))["token_used"] == charge(3, 2)


async def test_bad_key_is_refused_before_the_upgrade(relay: RelayServer) -> None:
    headers = {"Authorization": "Bearer sk-not-a-real-key"}
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(ws_url(relay), additional_headers=headers):
            pass
    response = refused.value.response
    assert response.status_code == 401
    body = orjson.loads(response.body)
    assert body["error"]["type"] == "new_api_error" and "request id" in body["error"]["message"]


async def test_plain_get_is_a_400_json_error(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await scenario(store, upstream, "mock")
    async with openai.AsyncOpenAI(base_url=relay.base_url, api_key=s.api_key) as api:
        with pytest.raises(openai.BadRequestError) as bad:
            await api.get(f"/realtime?model={MODEL}", cast_to=object)
    assert "'Upgrade: websocket' header is missing" in str(bad.value)
    assert (await store.balances(s))["token_held"] == 0


async def test_upstream_refusal_is_an_error_event_and_refunds(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = unique("mock;status=403")
    s = await scenario(store, upstream, key)
    headers = {"Authorization": f"Bearer {s.api_key}"}
    async with websockets.connect(ws_url(relay), additional_headers=headers) as ws:
        event = await next_event(ws, "error")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert event["event_id"].startswith("evt_")
    assert "403" in event["error"]["message"] and "request id" in event["error"]["message"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
    balances = await settled(store, s)
    assert balances["token_used"] == 0 and balances["token_held"] == 0


async def test_client_leaving_mid_response_bills_the_streamed_text(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = unique("mock;tag=L;words=60;chunk_delay=40")
    s = await scenario(store, upstream, key)
    headers = {"Authorization": f"Bearer {s.api_key}"}
    ws = await websockets.connect(ws_url(relay), additional_headers=headers)
    await next_event(ws, "session.created")
    await ws.send(orjson.dumps({"type": "response.create"}).decode())
    await next_event(ws, "response.text.delta")  # beta names: a -realtime-preview model
    await next_event(ws, "response.text.delta")  # beta names: a -realtime-preview model
    ws.transport.abort()  # gone without a close frame
    record = await mock_record(upstream, key)
    assert record["close_code"] == 1000  # relay closed the upstream side too
    balances = await settled(store, s)
    assert balances["token_held"] == 0 and balances["user_held"] == 0
    assert 0 < balances["token_used"] < charge(0, 60)  # the text streamed before the end


async def test_upstream_dropping_mid_response_closes_the_client(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = unique("mock;tag=D;words=20;cut=3")
    s = await scenario(store, upstream, key)
    headers = {"Authorization": f"Bearer {s.api_key}"}
    async with websockets.connect(ws_url(relay), additional_headers=headers) as ws:
        await next_event(ws, "session.created")
        await ws.send(orjson.dumps({"type": "response.create"}).decode())
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
    balances = await settled(store, s)
    assert balances["token_held"] == 0 and balances["token_used"] > 0


async def test_quota_running_out_ends_the_session(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = unique("mock;tag=Q;pt=20;ct=10")
    s = await scenario(store, upstream, key, remain=HOLD + 50)
    headers = {"Authorization": f"Bearer {s.api_key}"}
    async with websockets.connect(ws_url(relay), additional_headers=headers) as ws:
        await next_event(ws, "session.created")
        await ws.send(orjson.dumps({"type": "response.create"}).decode())
        await next_event(ws, "response.done")
        event = await next_event(ws, "error")  # no hold for another response
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert event["error"]["code"] == "pre_consume_token_quota_failed"
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    balances = await settled(store, s)
    assert balances["token_used"] == charge(20, 10) and balances["token_held"] == 0


async def test_a_refused_dial_is_retried_on_the_next_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    bad, good = unique("mock;status=500"), unique("mock;tag=G;pt=2;ct=2")
    s = await store.scenario(
        upstream,
        channels=[{"key": bad, "priority": 10}, {"key": good, "priority": 0}],
        models=(MODEL,),
    )
    await store.option("RetryTimes", "1")
    await store.publish_routing()
    try:
        headers = {"Authorization": f"Bearer {s.api_key}"}
        async with websockets.connect(ws_url(relay), additional_headers=headers) as ws:
            await next_event(ws, "session.created")
            await ws.send(orjson.dumps({"type": "response.create"}).decode())
            await next_event(ws, "response.done")
    finally:
        await store.option("RetryTimes", "0")
        await store.publish_routing()
    assert len(await upstream.calls(bad)) == 1 and len(await upstream.calls(good)) == 1
    assert (await settled(store, s))["token_used"] == charge(2, 2)
    await store.wait_drained()
    row = await store.scalar("SELECT other FROM logs WHERE token_id = :t", t=s.token_id)
    assert orjson.loads(row)["admin_info"]["use_channel"] == [str(c) for c in s.channel_ids]
    channel = await store.scalar("SELECT channel_id FROM logs WHERE token_id = :t", t=s.token_id)
    assert channel == s.channel_ids[1]
