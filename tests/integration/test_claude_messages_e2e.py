"""End to end: the anthropic SDK through `relay serve` to an OpenAI channel (converted through
the pivot) and to an Anthropic channel (bytes passed through), billed and logged."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import aiohttp
import anthropic
import pytest
from chat_fixtures import ASK_TEXT, CLAUDE_TOOLS
from relay_harness import MockUpstream, RelayServer, Scenario, Store

pytestmark = pytest.mark.integration

ANTHROPIC = 14
CLAUDE = "claude-sonnet-4-20250514"  # ratio 1.5, completion 5, cache 0.1, create-cache 1.25
TOOLS = CLAUDE_TOOLS
ASK = [{"role": "user", "content": ASK_TEXT}]
HI = [{"role": "user", "content": "hello"}]


def client(relay: RelayServer, api_key: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=relay.url, api_key=api_key, max_retries=0)


def quota(prompt: Decimal, completion: int, model_ratio: str, completion_ratio: str) -> int:
    """new-api's settlement, computed independently: (prompt + C × cr) × mr, half up."""
    value = (prompt + completion * Decimal(completion_ratio)) * Decimal(model_ratio)
    return max(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)), 1)


async def claude_scenario(store: Store, upstream: MockUpstream, key: str, **extra: Any) -> Scenario:
    channel = {"key": key, "type": ANTHROPIC, **extra}
    return await store.scenario(upstream, channels=[channel], models=(CLAUDE,))


async def logged_quota(store: Store, request_id: str) -> int:
    await store.wait_drained()
    return int(await store.scalar("SELECT quota FROM logs WHERE request_id = :r", r=request_id))


# --- Claude client → OpenAI channel ------------------------------------------------------------


async def test_message_through_an_openai_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;tag=A;pt=57;ct=34;words=3"}])
    async with client(relay, s.api_key) as api:
        raw = await api.messages.with_raw_response.create(
            model="gpt-4o-mini", max_tokens=100, system="be brief", messages=HI
        )
    msg = await raw.parse()
    assert msg.type == "message" and msg.role == "assistant"
    assert msg.content[0].type == "text" and msg.content[0].text == "[A] Hello from the"
    assert msg.stop_reason == "end_turn"
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (57, 34)
    expected = quota(Decimal(57), 34, "0.075", "4")
    assert (await store.balances(s))["token_used"] == expected
    assert await logged_quota(store, raw.headers["X-Oneapi-Request-Id"]) == expected
    sent = (await upstream.calls("mock;tag=A;pt=57;ct=34;words=3"))[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello"},
    ]
    assert sent["body"]["max_tokens"] == 100


async def test_stream_through_an_openai_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;tag=S;pt=10;ct=5;words=4"}])
    async with client(relay, s.api_key) as api:
        stream = await api.messages.create(
            model="gpt-4o-mini", max_tokens=100, messages=HI, stream=True
        )
        events = [e async for e in stream]
    kinds = [e.type for e in events]
    assert kinds == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * 5,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")  # type: ignore[union-attr]
    assert text == "[S] Hello from the mock"
    delta = events[-2]
    assert delta.type == "message_delta" and delta.delta.stop_reason == "end_turn"
    assert (delta.usage.input_tokens, delta.usage.output_tokens) == (10, 5)
    assert (await store.balances(s))["token_used"] == quota(Decimal(10), 5, "0.075", "4")


async def test_tool_use_through_an_openai_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;pt=20;ct=6"
    s = await store.scenario(upstream, channels=[{"key": key}])
    async with client(relay, s.api_key) as api:
        msg = await api.messages.create(
            model="gpt-4o-mini", max_tokens=100, messages=ASK, tools=TOOLS
        )
        async with api.messages.stream(
            model="gpt-4o-mini", max_tokens=100, messages=ASK, tools=TOOLS
        ) as stream:
            final = await stream.get_final_message()
        turn = [
            *ASK,
            {"role": "assistant", "content": [b.model_dump() for b in msg.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "call_mock1", "content": "9C"}],
            },
        ]
        await api.messages.create(model="gpt-4o-mini", max_tokens=100, messages=turn, tools=TOOLS)
    for m in (msg, final):
        assert m.stop_reason == "tool_use"
        block = m.content[-1]
        assert block.type == "tool_use" and block.name == "get_weather"
        assert block.input == {"city": "Paris"} and block.id == "call_mock1"
    sent = (await upstream.calls(key))[-1]["body"]
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["messages"][-1] == {
        "role": "tool",
        "content": "9C",
        "name": "get_weather",
        "tool_call_id": "call_mock1",
    }
    assert sent["messages"][-2]["tool_calls"][0]["function"]["arguments"] == '{"city":"Paris"}'
    assert (await store.balances(s))["token_used"] == 3 * quota(Decimal(20), 6, "0.075", "4")


async def test_upstream_errors_are_claude_shaped_and_refunded(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;status=429"}])
    async with client(relay, s.api_key) as api:
        with pytest.raises(anthropic.RateLimitError) as info:
            await api.messages.create(model="gpt-4o-mini", max_tokens=10, messages=HI)
    body = info.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "mock_429"  # an OpenAI error's code, as new-api does
    assert body["error"]["message"].startswith("mock error 429 (request id: ")
    balances = await store.balances(s)
    assert balances["token_used"] == 0 and balances["token_held"] == 0


async def test_middleware_errors_stay_openai_shaped(relay: RelayServer) -> None:
    body = {"model": "gpt-4o-mini", "max_tokens": 10, "messages": HI}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{relay.url}/v1/messages", json=body, headers={"x-api-key": "sk-nope"}) as resp,
    ):
        assert resp.status == 401
        data = await resp.json()
    assert data["error"]["type"] == "new_api_error"
    assert data["error"]["message"].startswith("Invalid token")


# --- Claude client → Anthropic channel ---------------------------------------------------------


async def test_message_passes_through_an_anthropic_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=C;pt=100;ct=20;cached=40;cw=10;cw1h=5;words=2"
    s = await claude_scenario(store, upstream, key)
    async with client(relay, s.api_key) as api:
        raw = await api.messages.with_raw_response.create(
            model=CLAUDE,
            max_tokens=50,
            messages=HI,
            extra_headers={
                "anthropic-beta": "prompt-caching-2024-07-31",
                "anthropic-version": "2023-06-01",
            },
        )
    msg = await raw.parse()
    assert msg.content[0].text == "[C] Hello from"  # type: ignore[union-attr]
    u = msg.usage
    assert (u.input_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens) == (
        100,
        40,
        15,
    )
    # Anthropic semantics: 100 + 40×0.1 + 10×1.25 + 5×1.25×1.6 prompt, 20×5 completion, ×1.5
    expected = quota(Decimal("126.5"), 20, "1.5", "5")
    assert expected == 340
    assert (await store.balances(s))["token_used"] == expected
    assert await logged_quota(store, raw.headers["X-Oneapi-Request-Id"]) == expected
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/v1/messages"
    assert sent["body"] == {"max_tokens": 50, "messages": HI, "model": CLAUDE}
    assert sent["headers"]["anthropic-version"] == "2023-06-01"
    assert sent["headers"]["anthropic-beta"] == "prompt-caching-2024-07-31"


async def test_stream_passes_through_an_anthropic_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;thinking=1;pt=30;ct=8;cached=6;words=3"
    mapping = f'{{"{CLAUDE}": "claude-upstream-name"}}'
    s = await claude_scenario(store, upstream, key, model_mapping=mapping)
    body = {"model": CLAUDE, "max_tokens": 50, "messages": HI, "stream": True}
    headers = {"x-api-key": s.api_key, "anthropic-version": "2023-06-01"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{relay.url}/v1/messages", json=body, headers=headers) as resp,
    ):
        assert resp.status == 200
        raw = (await resp.read()).decode()
    kinds = [f.split("\n")[0].removeprefix("event: ") for f in raw.split("\n\n") if f]
    async with (
        client(relay, s.api_key) as api,
        api.messages.stream(model=CLAUDE, max_tokens=50, messages=HI, tools=TOOLS) as mapped,
    ):
        final = await mapped.get_final_message()
    assert kinds[:3] == ["message_start", "ping", "content_block_start"]  # untouched: ping kept
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert [b.type for b in final.content] == ["thinking", "text"]
    sent = (await upstream.calls(key))[-1]["body"]
    assert sent["model"] == "claude-upstream-name" and sent["tools"] == TOOLS  # only the model
    # Anthropic semantics: (30 + 6×0.1 + 8×5) × 1.5, twice
    assert (await store.balances(s))["token_used"] == 2 * quota(Decimal("30.6"), 8, "1.5", "5")


async def test_a_cut_claude_stream_keeps_its_input_usage_and_counts_its_output(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    """new-api's HandleStreamFinalResponse: with no message_delta, message_start's input and
    cache counts stay and the output is counted from the text that came."""
    key = "mock;tag=X;pt=30;ct=99;cached=6;cut=3;words=20"
    s = await claude_scenario(store, upstream, key)
    body = {"model": CLAUDE, "max_tokens": 50, "messages": HI, "stream": True}
    headers = {"x-api-key": s.api_key, "anthropic-version": "2023-06-01"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{relay.url}/v1/messages", json=body, headers=headers) as resp,
    ):
        raw = (await resp.read()).decode()
        rid = resp.headers["X-Oneapi-Request-Id"]
    assert "message_delta" not in raw  # the upstream was cut before it
    await store.wait_drained()
    logged = {
        column: await store.scalar(f"SELECT {column} FROM logs WHERE request_id = :r", r=rid)
        for column in ("prompt_tokens", "completion_tokens", "other")
    }
    assert logged["prompt_tokens"] == 30 and 1 < logged["completion_tokens"] < 99
    assert '"cache_tokens":6' in logged["other"]


async def test_tool_use_and_errors_of_an_anthropic_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await claude_scenario(store, upstream, "mock;pt=12;ct=5")
    async with client(relay, s.api_key) as api:
        msg = await api.messages.create(model=CLAUDE, max_tokens=50, messages=ASK, tools=TOOLS)
    assert msg.stop_reason == "tool_use" and msg.content[0].type == "tool_use"
    assert msg.content[0].input == {"city": "Paris"}
    failing = await claude_scenario(store, upstream, "mock;status=400")
    async with client(relay, failing.api_key) as api:
        with pytest.raises(anthropic.BadRequestError) as info:
            await api.messages.create(model=CLAUDE, max_tokens=50, messages=HI)
    body = info.value.body
    assert isinstance(body, dict) and body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("mock error 400 (request id: ")
