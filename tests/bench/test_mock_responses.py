"""Wire-compatibility of the mock's OpenAI Responses format, driven by the openai SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import openai
import orjson
import pytest
from relay_harness import MockUpstream

TOOLS: list[Any] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstream]:
    upstream = MockUpstream()
    yield upstream
    upstream.stop()


def client(mock: MockUpstream, key: str = "mock") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{mock.url}/v1", api_key=key, max_retries=0)


@pytest.fixture
async def http(mock: MockUpstream) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=mock.url) as s:
        yield s


async def test_response_with_text_and_usage(mock: MockUpstream) -> None:
    async with client(mock, "mock;tag=A;words=3;pt=11;cached=4") as c:
        r = await c.responses.create(model="gpt-4o-mini", input="hello", instructions="be brief")
    assert r.object == "response" and r.status == "completed" and r.id.startswith("resp")
    assert r.output_text == "[A] Hello from the" and r.model == "gpt-4o-mini"
    assert r.instructions == "be brief" and r.tool_choice == "auto"
    assert r.usage is not None
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (11, 4, 15)
    assert r.usage.input_tokens_details.cached_tokens == 4
    assert r.usage.output_tokens_details.reasoning_tokens == 0


async def test_function_call_and_its_output_turn(mock: MockUpstream) -> None:
    ask: list[Any] = [{"role": "user", "content": "what is the weather in Paris?"}]
    async with client(mock) as c:
        r = await c.responses.create(model="gpt-4o-mini", input=ask, tools=TOOLS)
        call = r.output[0]
        assert call.type == "function_call" and call.name == "get_weather"
        assert call.call_id == "call_mock1" and call.arguments == '{"city":"Paris"}'
        turn = [*ask, call.model_dump(), {"type": "function_call_output",
                                          "call_id": call.call_id, "output": "9C"}]  # fmt: skip
        await c.responses.create(model="gpt-4o-mini", input=turn, tools=TOOLS)
    assert r.tools[0].name == "get_weather"  # type: ignore[union-attr]


async def test_stream_event_sequence(http: aiohttp.ClientSession) -> None:
    body = {"model": "gpt-4o-mini", "input": "hi", "stream": True}
    headers = {"Authorization": "Bearer mock;words=2;pt=5"}
    async with http.post("/v1/responses", json=body, headers=headers) as resp:
        assert resp.status == 200 and resp.content_type == "text/event-stream"
        raw = await resp.read()
    frames = [f for f in raw.split(b"\n\n") if f]
    events = []
    for frame in frames:
        name, data = frame.split(b"\n")
        event = orjson.loads(data.removeprefix(b"data: "))
        assert name == b"event: " + event["type"].encode()
        events.append(event)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert (
        events[0]["response"]["status"] == "in_progress" and events[0]["response"]["usage"] is None
    )
    done = events[-1]["response"]
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == "Hello from"
    assert done["usage"]["input_tokens"] == 5 and done["usage"]["output_tokens"] == 2
    assert b"[DONE]" not in raw


async def test_sdk_stream_of_reasoning_and_a_function_call(mock: MockUpstream) -> None:
    ask = "weather in Paris?"
    async with (
        client(mock, "mock;thinking=1") as c,
        c.responses.stream(model="o4-mini", input=ask, tools=TOOLS) as stream,
    ):
        kinds = [e.type async for e in stream]
        final = await stream.get_final_response()
    assert [o.type for o in final.output] == ["reasoning", "function_call"]
    assert final.output[0].summary[0].text == "Let me think about it."  # type: ignore[union-attr]
    assert final.output[1].arguments == '{"city":"Paris"}'  # type: ignore[union-attr]
    assert kinds.count("response.function_call_arguments.delta") == 5
    assert "response.reasoning_summary_text.done" in kinds
    assert final.usage is not None and final.usage.output_tokens_details.reasoning_tokens == 3
    assert final.usage.output_tokens == 3 + 5


async def test_nousage_cut_and_errors(mock: MockUpstream) -> None:
    async with client(mock, "mock;nousage=1") as c:
        r = await c.responses.create(model="gpt-4o-mini", input="hi")
    assert r.usage is None
    async with client(mock, "mock;cut=1") as c:
        with pytest.raises(openai.APIError):
            stream = await c.responses.create(model="gpt-4o-mini", input="hi", stream=True)
            [e async for e in stream]
    async with client(mock, "mock;status=429") as c:
        with pytest.raises(openai.RateLimitError) as info:
            await c.responses.create(model="gpt-4o-mini", input="hi")
    assert info.value.code == "mock_429"
    async with client(mock) as c:
        with pytest.raises(openai.BadRequestError):
            await c.responses.create(model="gpt-4o-mini")


async def test_deepseek_responses_path(mock: MockUpstream) -> None:
    """DeepSeek serves Responses at {base}/responses, where new-api sends them."""
    api = openai.AsyncOpenAI(base_url=mock.url, api_key="mock;tag=D;words=1", max_retries=0)
    async with api:
        r = await api.responses.create(model="deepseek-chat", input="hi")
    assert r.output_text == "[D] Hello" and r.status == "completed"
