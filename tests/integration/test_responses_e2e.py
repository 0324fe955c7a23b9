"""End to end: the openai SDK's Responses API through `relay serve` to an OpenAI channel (bytes
passed through to its /v1/responses) and to an Anthropic channel (converted through the Chat
pivot), billed and logged."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import aiohttp
import openai
import orjson
import pytest
from chat_fixtures import ASK_TEXT, RESPONSES_TOOLS
from relay_harness import MockUpstream, RelayServer, Scenario, Store

pytestmark = pytest.mark.integration

ANTHROPIC, MISTRAL = 14, 42
CLAUDE = "claude-sonnet-4-20250514"  # ratio 1.5, completion 5, cache 0.1, create-cache 1.25
MINI = "gpt-4o-mini"  # ratio 0.075, completion 4, cache 0.5
TOOLS = RESPONSES_TOOLS
ASK: list[Any] = [{"role": "user", "content": ASK_TEXT}]


def client(relay: RelayServer, api_key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{relay.url}/v1", api_key=api_key, max_retries=0)


def quota(prompt: Decimal, completion: int, model_ratio: str, completion_ratio: str) -> int:
    """new-api's settlement, computed independently: (prompt + C × cr) × mr, half up."""
    value = (prompt + completion * Decimal(completion_ratio)) * Decimal(model_ratio)
    return max(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)), 1)


async def claude_scenario(store: Store, upstream: MockUpstream, key: str) -> Scenario:
    channels = [{"key": key, "type": ANTHROPIC}]
    return await store.scenario(upstream, channels=channels, models=(CLAUDE,))


async def logged_quota(store: Store, request_id: str) -> int:
    await store.wait_drained()
    return int(await store.scalar("SELECT quota FROM logs WHERE request_id = :r", r=request_id))


async def raw_stream(relay: RelayServer, api_key: str, body: dict[str, Any]) -> list[bytes]:
    headers = {"Authorization": f"Bearer {api_key}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{relay.url}/v1/responses", json=body, headers=headers) as resp,
    ):
        assert resp.status == 200 and resp.content_type == "text/event-stream"
        return [f for f in (await resp.read()).split(b"\n\n") if f]


# --- Responses client → OpenAI channel (native, passed through) --------------------------------


async def test_response_passes_through_an_openai_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=R;pt=100;ct=30;cached=40;words=3"
    s = await store.scenario(upstream, channels=[{"key": key}])
    async with client(relay, s.api_key) as api:
        raw = await api.responses.with_raw_response.create(
            model=MINI, input="hello", instructions="be brief", max_output_tokens=50
        )
    r = raw.parse()
    assert r.output_text == "[R] Hello from the" and r.status == "completed"
    assert r.usage is not None and (r.usage.input_tokens, r.usage.output_tokens) == (100, 30)
    assert orjson.loads(raw.content)["background"] is False  # the upstream's own object
    # OpenAI semantics: 40 of the 100 input tokens are cache reads at 0.5.
    expected = quota(Decimal(60 + 40 * Decimal("0.5")), 30, "0.075", "4")
    assert (await store.balances(s))["token_used"] == expected
    assert await logged_quota(store, raw.headers["X-Oneapi-Request-Id"]) == expected
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/v1/responses"
    assert sent["body"] == {
        "model": MINI,
        "input": "hello",
        "instructions": "be brief",
        "max_output_tokens": 50,
    }


async def test_stream_passes_through_an_openai_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;pt=12;ct=4;words=4"
    mapping = f'{{"{MINI}": "gpt-4o-upstream"}}'
    s = await store.scenario(upstream, channels=[{"key": key, "model_mapping": mapping}])
    frames = await raw_stream(relay, s.api_key, {"model": MINI, "input": "hi", "stream": True})
    events = [orjson.loads(f.split(b"\ndata: ")[1]) for f in frames]
    assert all(
        f.startswith(b"event: " + e["type"].encode()) for f, e in zip(frames, events, strict=True)
    )
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["model"] == "gpt-4o-upstream"  # mapped upstream, untouched
    assert b"[DONE]" not in b"".join(frames)
    async with (
        client(relay, s.api_key) as api,
        api.responses.stream(model=MINI, input="hi") as stream,
    ):
        texts = [e.delta async for e in stream if e.type == "response.output_text.delta"]
        final = await stream.get_final_response()
    assert "".join(texts) == final.output_text == "Hello from the mock"
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/v1/responses" and sent["body"]["model"] == "gpt-4o-upstream"
    assert "stream_options" not in sent["body"]
    assert (await store.balances(s))["token_used"] == 2 * quota(Decimal(12), 4, "0.075", "4")


async def test_function_calls_through_an_openai_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;pt=20;ct=6"
    s = await store.scenario(upstream, channels=[{"key": key}])
    async with client(relay, s.api_key) as api:
        r = await api.responses.create(model=MINI, input=ASK, tools=TOOLS)
        async with api.responses.stream(model=MINI, input=ASK, tools=TOOLS) as stream:
            final = await stream.get_final_response()
        call = r.output[0]
        assert call.type == "function_call"
        turn = [*ASK, call.model_dump(), {"type": "function_call_output",
                                          "call_id": call.call_id, "output": "9C"}]  # fmt: skip
        await api.responses.create(model=MINI, input=turn, tools=TOOLS)
    for out in (r, final):
        item = out.output[0]
        assert item.type == "function_call" and item.name == "get_weather"
        assert item.arguments == '{"city":"Paris"}' and item.call_id == "call_mock1"
    sent = (await upstream.calls(key))[-1]["body"]
    assert sent["input"][-1] == {"type": "function_call_output", "call_id": "call_mock1",
                                 "output": "9C"}  # fmt: skip
    assert (await store.balances(s))["token_used"] == 3 * quota(Decimal(20), 6, "0.075", "4")


async def test_a_cut_stream_ends_cleanly_and_bills_what_came(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;cut=2;words=6"}])
    frames = await raw_stream(relay, s.api_key, {"model": MINI, "input": "hi", "stream": True})
    kinds = [orjson.loads(f.split(b"\ndata: ")[1])["type"] for f in frames]
    assert kinds.count("response.output_text.delta") == 2
    assert "response.completed" not in kinds
    await store.wait_drained()
    balances = await store.balances(s)
    assert balances["token_used"] > 0 and balances["token_held"] == 0


async def test_missing_upstream_usage_is_counted(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;nousage=1;words=6"}])
    async with client(relay, s.api_key) as api:
        r = await api.responses.create(model=MINI, input="hello there", instructions="be brief")
        async with api.responses.stream(model=MINI, input="hello there") as stream:
            final = await stream.get_final_response()
    assert r.usage is None and final.usage is None  # passed through as the upstream sent them
    await store.wait_drained()
    rows = await store.scalar(
        "SELECT COUNT(*) FROM logs WHERE token_id = :t AND prompt_tokens > 0"
        " AND completion_tokens > 0",
        t=s.token_id,
    )
    assert rows == 2
    assert (await store.balances(s))["token_used"] > 0


async def test_errors_are_openai_shaped_and_refunded(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;status=429"}])
    async with client(relay, s.api_key) as api:
        with pytest.raises(openai.RateLimitError) as info:
            await api.responses.create(model=MINI, input="hi")
    body = info.value.body
    assert isinstance(body, dict) and body["code"] == "mock_429"
    assert body["message"].startswith("mock error 429 (request id: ")
    balances = await store.balances(s)
    assert balances["token_used"] == 0 and balances["token_held"] == 0
    async with client(relay, "sk-nope") as api:
        with pytest.raises(openai.AuthenticationError) as denied:
            await api.responses.create(model=MINI, input="hi")
    assert isinstance(denied.value.body, dict) and denied.value.body["type"] == "new_api_error"


# --- Responses client → Anthropic channel (through the pivot) ----------------------------------


async def test_response_through_an_anthropic_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=C;pt=100;ct=20;cached=40;cw=10;words=2"
    s = await claude_scenario(store, upstream, key)
    async with client(relay, s.api_key) as api:
        raw = await api.responses.with_raw_response.create(
            model=CLAUDE, input="hello", instructions="be brief", max_output_tokens=64
        )
    r = raw.parse()
    assert r.object == "response" and r.status == "completed"
    assert r.output_text == "[C] Hello from"
    # Responses counts input as OpenAI does: the cache reads and writes are part of it.
    assert r.usage is not None and (r.usage.input_tokens, r.usage.output_tokens) == (150, 20)
    assert r.usage.input_tokens_details.cached_tokens == 40
    # Anthropic semantics: 100 + 40×0.1 + 10×1.25 prompt, 20×5 completion, ×1.5
    expected = quota(Decimal("116.5"), 20, "1.5", "5")
    assert (await store.balances(s))["token_used"] == expected
    assert await logged_quota(store, raw.headers["X-Oneapi-Request-Id"]) == expected
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/v1/messages"
    assert sent["body"]["system"] == [{"type": "text", "text": "be brief"}]
    assert sent["body"]["max_tokens"] == 64
    assert sent["body"]["messages"] == [{"role": "user", "content": "hello"}]


async def test_stream_and_function_calls_through_an_anthropic_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;pt=30;ct=8;words=3"
    s = await claude_scenario(store, upstream, key)
    async with client(relay, s.api_key) as api:
        async with api.responses.stream(model=CLAUDE, input="hi", max_output_tokens=64) as text:
            kinds = [e.type async for e in text]
            final = await text.get_final_response()
        async with api.responses.stream(
            model=CLAUDE, input=ASK, tools=TOOLS, max_output_tokens=64
        ) as tool:
            called = await tool.get_final_response()
        whole = await api.responses.create(
            model=CLAUDE, input=ASK, tools=TOOLS, max_output_tokens=64
        )
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert final.output_text == "Hello from the"
    assert final.usage is not None and (final.usage.input_tokens, final.usage.output_tokens) == (
        30,
        8,
    )
    for out in (called, whole):
        item = out.output[-1]
        assert item.type == "function_call" and item.name == "get_weather"
        assert orjson.loads(item.arguments) == {"city": "Paris"}
    sent = (await upstream.calls(key))[-1]["body"]
    assert sent["tools"][0]["name"] == "get_weather" and "input_schema" in sent["tools"][0]
    assert (await store.balances(s))["token_used"] == 3 * quota(Decimal(30), 8, "1.5", "5")


async def test_thinking_becomes_a_reasoning_item(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await claude_scenario(store, upstream, "mock;thinking=1;words=2")
    async with (
        client(relay, s.api_key) as api,
        api.responses.stream(model=CLAUDE, input="hi", max_output_tokens=64) as stream,
    ):
        final = await stream.get_final_response()
    assert [o.type for o in final.output] == ["reasoning", "message"]
    assert final.output[0].summary[0].text.strip() == "Let me think about it."  # type: ignore[union-attr]
    assert final.output_text == "Hello from"


async def test_stateful_requests_are_refused_on_a_chat_only_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=stateful"
    s = await claude_scenario(store, upstream, key)
    async with client(relay, s.api_key) as api:
        with pytest.raises(openai.BadRequestError) as info:
            await api.responses.create(model=CLAUDE, input="hi", previous_response_id="resp_1")
    body = info.value.body
    assert isinstance(body, dict) and "previous_response_id" in body["message"]
    assert body["code"] == "convert_request_failed"
    assert (await store.balances(s))["token_held"] == 0
    assert await upstream.calls(key) == []


async def test_openai_compatible_vendor_without_responses_goes_through_chat(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=M;pt=9;ct=3;words=2"
    s = await store.scenario(upstream, channels=[{"key": key, "type": MISTRAL}])
    async with client(relay, s.api_key) as api:
        r = await api.responses.create(model=MINI, input="hello", instructions="be brief")
    assert r.output_text == "[M] Hello from" and r.usage is not None
    assert (r.usage.input_tokens, r.usage.output_tokens) == (9, 3)
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello"},
    ]
    assert (await store.balances(s))["token_used"] == quota(Decimal(9), 3, "0.075", "4")
