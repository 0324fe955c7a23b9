"""End to end: the openai SDK through `relay serve` to an Anthropic channel: the OpenAI Chat
request is converted to Claude Messages, the answer (whole or streamed) back to OpenAI Chat."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import openai
import pytest
from admin_client import root
from chat_fixtures import HI_BRIEFLY, OPENAI_TOOLS
from relay_harness import MockUpstream, RelayServer, Scenario, Store

pytestmark = pytest.mark.integration

ANTHROPIC = 14
CLAUDE = "claude-sonnet-4-20250514"  # ratio 1.5, completion 5, cache 0.1, create-cache 1.25
TOOLS = OPENAI_TOOLS
HI = HI_BRIEFLY
PIXEL = "data:image/png;base64,aGVsbG8="


def client(relay: RelayServer, api_key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=relay.base_url, api_key=api_key, max_retries=0)


def quota(prompt: Decimal, completion: int) -> int:
    value = (prompt + completion * Decimal(5)) * Decimal("1.5")
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def scenario(store: Store, upstream: MockUpstream, key: str) -> Scenario:
    return await store.scenario(
        upstream, channels=[{"key": key, "type": ANTHROPIC}], models=(CLAUDE,)
    )


async def test_chat_is_converted_both_ways_and_billed(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=O;pt=50;ct=10;cached=20;cw=8;words=3"
    s = await scenario(store, upstream, key)
    async with client(relay, s.api_key) as api:
        reply = await api.chat.completions.create(model=CLAUDE, messages=HI, stop=["END"])
    assert reply.object == "chat.completion" and reply.id.startswith("msg")
    choice = reply.choices[0]
    assert choice.message.content == "[O] Hello from the"
    assert choice.finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == 78  # input + cache reads + cache writes
    assert reply.usage.completion_tokens == 10
    assert reply.usage.prompt_tokens_details is not None
    assert reply.usage.prompt_tokens_details.cached_tokens == 20
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/v1/messages"
    assert sent["headers"]["anthropic-version"] == "2023-06-01"
    assert sent["body"] == {
        "model": CLAUDE,
        "max_tokens": 8192,
        "system": [{"type": "text", "text": "be brief"}],
        "messages": [{"role": "user", "content": "hello"}],
        "stop_sequences": ["END"],
    }
    # Anthropic semantics: 50 + 20×0.1 + 8×1.25 prompt, 10×5 completion, ×1.5
    assert (await store.balances(s))["token_used"] == quota(Decimal(62), 10) == 168


async def test_stream_with_usage_and_thinking(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;thinking=1;pt=9;ct=4;words=3"
    s = await scenario(store, upstream, key)
    async with client(relay, s.api_key) as api:
        stream = await api.chat.completions.create(
            model=CLAUDE, messages=HI, stream=True, stream_options={"include_usage": True}
        )
        chunks = [c async for c in stream]
        plain = await api.chat.completions.create(model=CLAUDE, messages=HI, stream=True)
        plain_chunks = [c async for c in plain]
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant"
    text = "".join(d.content or "" for d in deltas)
    assert text == "Hello from the"
    thinking = "".join(getattr(d, "reasoning_content", None) or "" for d in deltas)
    assert thinking == "Let me think about it.\n"  # the signature becomes a newline
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    usage = [c.usage for c in chunks if c.usage is not None]
    assert len(usage) == 1 and not chunks[-1].choices
    assert (usage[0].prompt_tokens, usage[0].completion_tokens) == (9, 4)
    assert all(c.usage is None for c in plain_chunks)
    assert (await store.balances(s))["token_used"] == 2 * quota(Decimal(9), 4)


async def test_tool_calls_and_tool_results(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;pt=15;ct=5"
    s = await scenario(store, upstream, key)
    ask: list[Any] = [{"role": "user", "content": "weather in Paris please"}]
    async with client(relay, s.api_key) as api:
        reply = await api.chat.completions.create(
            model=CLAUDE, messages=ask, tools=TOOLS, tool_choice="required"
        )
        stream = await api.chat.completions.create(
            model=CLAUDE, messages=ask, tools=TOOLS, stream=True
        )
        chunks = [c async for c in stream]
        call = reply.choices[0].message.tool_calls[0]  # type: ignore[index]
        follow = [
            *ask,
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "9C"},
        ]
        await api.chat.completions.create(model=CLAUDE, messages=follow, tools=TOOLS)
    assert reply.choices[0].finish_reason == "tool_calls"
    assert call.id == "toolu_mock1" and call.function.name == "get_weather"
    assert call.function.arguments == '{"city":"Paris"}'
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert calls[0].id == "toolu_mock1" and calls[0].function.name == "get_weather"
    assert "".join(tc.function.arguments or "" for tc in calls) == '{"city":"Paris"}'
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    first, *_, last = await upstream.calls(key)
    assert first["body"]["tool_choice"] == {"type": "any"}
    assert first["body"]["tools"][0]["input_schema"]["properties"] == {"city": {"type": "string"}}
    assert last["body"]["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "..."},
                {
                    "type": "tool_use",
                    "id": "toolu_mock1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_mock1", "content": "9C"}],
        },
    ]


async def test_images_errors_and_bad_input(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;pt=5;ct=2"
    s = await scenario(store, upstream, key)
    seen: list[Any] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": PIXEL}},
            ],
        }
    ]

    def by_url(url: str) -> list[Any]:
        return [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]

    async with client(relay, s.api_key) as api:
        await api.chat.completions.create(model=CLAUDE, messages=seen)
        image = (await upstream.calls(key))[-1]["body"]["messages"][0]["content"][1]
        await api.chat.completions.create(
            model=CLAUDE, messages=by_url(f"{upstream.url}/_mock/image.png")
        )
        fetched = (await upstream.calls(key))[-1]["body"]["messages"][0]["content"][0]
        with pytest.raises(openai.BadRequestError) as bad:
            await api.chat.completions.create(
                model=CLAUDE, messages=by_url(f"{upstream.url}/_mock/missing.png")
            )
    assert image == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "aGVsbG8="},
    }
    # a remote URL is fetched by relay and sent inline
    assert fetched == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgoAAAANSUhEUg=="},
    }
    assert "cannot fetch image" in str(bad.value) and "status 404" in str(bad.value)
    assert bad.value.code == "convert_request_failed"
    failing = await scenario(store, upstream, "mock;status=529")
    async with client(relay, failing.api_key) as api:
        with pytest.raises(openai.APIStatusError) as over:
            await api.chat.completions.create(model=CLAUDE, messages=HI)
    assert over.value.status_code == 529
    body = over.value.body
    assert isinstance(body, dict)
    assert body["type"] == "overloaded_error"  # the Claude error's type, in OpenAI's shape
    assert body["message"].startswith("mock error 529 (request id: ")
    assert (await store.balances(failing))["token_used"] == 0


async def test_admin_channel_test_speaks_messages(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=PROBE;pt=6;ct=3"
    channel_id = await store.channel(
        key=key, models=[CLAUDE], base_url=upstream.url, type=ANTHROPIC
    )
    async with root(relay) as admin:
        reply = await admin.get(f"/api/channel/test/{channel_id}")
    assert reply.status == 200 and reply.body["success"] is True, reply.body
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/v1/messages" and sent["headers"]["anthropic-version"] == "2023-06-01"
    assert sent["body"] == {
        "model": CLAUDE,
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
    }
