"""Wire-compatibility of the mock's Anthropic Messages format, driven by the anthropic SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import anthropic
import pytest
from relay_harness import MockUpstream

TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]
HI = [{"role": "user", "content": "hello there mock"}]


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstream]:
    upstream = MockUpstream()
    yield upstream
    upstream.stop()


def client(mock: MockUpstream, key: str = "mock") -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=mock.url, api_key=key, max_retries=0)


@pytest.fixture
async def http(mock: MockUpstream) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=mock.url) as s:
        yield s


async def test_message_with_usage_and_cache_tokens(mock: MockUpstream) -> None:
    async with client(mock, "mock;tag=A;words=3;pt=11;cached=5;cw=4;cw1h=2") as c:
        msg = await c.messages.create(model="claude-x", max_tokens=64, messages=HI)
    assert msg.type == "message" and msg.role == "assistant" and msg.id.startswith("msg")
    assert msg.content[0].type == "text" and msg.content[0].text == "[A] Hello from the"
    assert msg.stop_reason == "end_turn" and msg.model == "claude-x"
    u = msg.usage
    assert (u.input_tokens, u.output_tokens, u.cache_read_input_tokens) == (11, 4, 5)
    assert u.cache_creation_input_tokens == 6
    assert u.cache_creation is not None
    assert u.cache_creation.ephemeral_5m_input_tokens == 4
    assert u.cache_creation.ephemeral_1h_input_tokens == 2


async def test_stream_event_sequence(mock: MockUpstream, http: aiohttp.ClientSession) -> None:
    body = {"model": "claude-x", "max_tokens": 64, "messages": HI, "stream": True}
    headers = {"x-api-key": "mock;words=2", "anthropic-version": "2023-06-01"}
    async with http.post("/v1/messages", json=body, headers=headers) as resp:
        assert resp.status == 200 and resp.content_type == "text/event-stream"
        raw = (await resp.read()).decode()
    frames = [f for f in raw.split("\n\n") if f]
    names = [f.split("\n")[0].removeprefix("event: ") for f in frames]
    assert names == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(f.split("\n")[1].startswith("data: {") for f in frames)


async def test_stream_through_the_sdk(mock: MockUpstream) -> None:
    async with (
        client(mock, "mock;tag=S;words=4;ct=9") as c,
        c.messages.stream(model="claude-x", max_tokens=64, messages=HI) as stream,
    ):
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "[S] Hello from the mock"
    assert final.usage.output_tokens == 9 and final.stop_reason == "end_turn"


async def test_tool_use_stream_and_whole(mock: MockUpstream) -> None:
    ask = [{"role": "user", "content": "what is the weather in Paris?"}]
    async with client(mock) as c:
        msg = await c.messages.create(model="claude-x", max_tokens=64, messages=ask, tools=TOOLS)
        async with c.messages.stream(
            model="claude-x", max_tokens=64, messages=ask, tools=TOOLS
        ) as stream:
            final = await stream.get_final_message()
    for m in (msg, final):
        assert m.stop_reason == "tool_use"
        block = m.content[0]
        assert block.type == "tool_use" and block.name == "get_weather"
        assert block.input == {"city": "Paris"} and block.id == "toolu_mock1"


async def test_thinking_block_first(mock: MockUpstream) -> None:
    async with client(mock, "mock;thinking=1;words=2") as c:
        msg = await c.messages.create(model="claude-x", max_tokens=64, messages=HI)
        async with c.messages.stream(model="claude-x", max_tokens=64, messages=HI) as stream:
            final = await stream.get_final_message()
    for m in (msg, final):
        assert [b.type for b in m.content] == ["thinking", "text"]
        assert m.content[0].thinking == "Let me think about it."  # type: ignore[union-attr]


async def test_error_statuses_have_anthropic_bodies(mock: MockUpstream) -> None:
    async with client(mock, "mock;status=429") as c:
        with pytest.raises(anthropic.RateLimitError) as info:
            await c.messages.create(model="claude-x", max_tokens=8, messages=HI)
    assert info.value.body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "mock error 429"},
    }
    async with client(mock, "mock;status=529") as c:
        with pytest.raises(anthropic.APIStatusError) as over:
            await c.messages.create(model="claude-x", max_tokens=8, messages=HI)
    assert over.value.status_code == 529


async def test_protocol_checks(http: aiohttp.ClientSession) -> None:
    body = {"model": "claude-x", "max_tokens": 8, "messages": HI}
    async with http.post("/v1/messages", json=body) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"]["type"] == "authentication_error"
    async with http.post("/v1/messages", json=body, headers={"x-api-key": "mock"}) as resp:
        assert resp.status == 400
        assert "anthropic-version" in (await resp.json())["error"]["message"]
    no_max = {"model": "claude-x", "messages": HI}
    headers = {"x-api-key": "mock", "anthropic-version": "2023-06-01"}
    async with http.post("/v1/messages", json=no_max, headers=headers) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["message"] == "max_tokens: Field required"


async def test_cut_stream_drops_the_connection(http: aiohttp.ClientSession) -> None:
    body = {"model": "claude-x", "max_tokens": 64, "messages": HI, "stream": True}
    headers = {"x-api-key": "mock;cut=2;words=10", "anthropic-version": "2023-06-01"}
    seen = b""
    with pytest.raises(aiohttp.ClientPayloadError):
        async with http.post("/v1/messages", json=body, headers=headers) as resp:
            async for chunk in resp.content.iter_any():
                seen += chunk
    assert seen.count(b"event: content_block_delta") == 2
    assert b"message_stop" not in seen


@pytest.mark.parametrize("prefix", ["/anthropic", "/apps/anthropic"])
async def test_vendor_anthropic_paths(http: aiohttp.ClientSession, prefix: str) -> None:
    """DeepSeek's and DashScope's Anthropic-compatible APIs speak the same Messages format."""
    body = {"model": "deepseek-chat", "max_tokens": 8, "messages": HI}
    headers = {"Authorization": "Bearer mock;tag=V;words=1", "anthropic-version": "2023-06-01"}
    async with http.post(f"{prefix}/v1/messages", json=body, headers=headers) as resp:
        assert resp.status == 200
        msg = await resp.json()
    assert msg["type"] == "message" and msg["content"] == [{"type": "text", "text": "[V] Hello"}]
