"""Wire-compatibility of the mock's Gemini format, driven by the google-genai SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import orjson
import pytest
from google import genai
from google.genai import errors, types
from relay_harness import MockUpstream

TOOL = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(
            name="get_weather",
            description="Weather for a city",
            parameters_json_schema={"type": "object", "properties": {"city": {"type": "string"}}},
        )
    ]
)
NO_AFC = types.AutomaticFunctionCallingConfig(disable=True)
HI: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": "hello there mock"}]}]}
PATH = "/v1beta/models/gemini-2.0-flash"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstream]:
    upstream = MockUpstream()
    yield upstream
    upstream.stop()


@pytest.fixture
async def http(mock: MockUpstream) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=mock.url) as s:
        yield s


def client(url: str, key: str, session: aiohttp.ClientSession) -> genai.Client:
    """The SDK on our own aiohttp session (its own subclasses ClientSession, which warns)."""
    options = types.HttpOptions(
        base_url=url,
        api_version="v1beta",
        retry_options=types.HttpRetryOptions(attempts=1),
        aiohttp_client=session,
    )
    return genai.Client(api_key=key, http_options=options)


async def test_generate_with_usage(mock: MockUpstream) -> None:
    async with aiohttp.ClientSession() as s:
        c = client(mock.url, "mock;tag=A;words=3;pt=11;ct=4;cached=2", s)
        reply = await c.aio.models.generate_content(model="gemini-2.0-flash", contents="hello")
    assert reply.text == "[A] Hello from the"
    assert reply.model_version == "gemini-2.0-flash" and reply.response_id
    assert reply.candidates and reply.candidates[0].finish_reason == types.FinishReason.STOP
    u = reply.usage_metadata
    assert u is not None
    assert (u.prompt_token_count, u.candidates_token_count, u.total_token_count) == (11, 4, 15)
    assert u.cached_content_token_count == 2
    sent = (await mock.calls("mock;tag=A;words=3;pt=11;ct=4;cached=2"))[-1]
    assert sent["path"] == f"{PATH}:generateContent" and sent["model"] == "gemini-2.0-flash"
    assert sent["stream"] is False and sent["headers"]["x-goog-api-key"].startswith("mock;")


async def test_stream_over_sse(mock: MockUpstream, http: aiohttp.ClientSession) -> None:
    async with aiohttp.ClientSession() as s:
        c = client(mock.url, "mock;words=3;pt=5", s)
        stream = await c.aio.models.generate_content_stream(model="gemini-x", contents="hi")
        chunks = [chunk async for chunk in stream]
    assert [c.text for c in chunks] == ["Hello", " from", " the"]
    last = chunks[-1]
    assert last.candidates and last.candidates[0].finish_reason == types.FinishReason.STOP
    assert last.usage_metadata is not None and last.usage_metadata.candidates_token_count == 3
    url = f"{PATH}:streamGenerateContent?alt=sse"
    async with http.post(url, json=HI, headers={"x-goog-api-key": "mock;words=2"}) as resp:
        assert resp.content_type == "text/event-stream"
        raw = await resp.read()
    frames = [f for f in raw.split(b"\r\n\r\n") if f]
    assert len(frames) == 2 and all(f.startswith(b"data: {") for f in frames)
    counts = [orjson.loads(f[6:])["usageMetadata"]["candidatesTokenCount"] for f in frames]
    assert counts == [1, 2]  # cumulative, repeated in every event


async def test_stream_without_alt_is_a_json_array(http: aiohttp.ClientSession) -> None:
    url = f"{PATH}:streamGenerateContent?key=mock;words=2"
    async with http.post(url, json=HI) as resp:
        assert resp.status == 200 and resp.content_type == "application/json"
        events = await resp.json()
    assert [e["candidates"][0]["content"]["parts"][0]["text"] for e in events] == ["Hello", " from"]
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"


async def test_function_call_and_thinking(mock: MockUpstream) -> None:
    config = types.GenerateContentConfig(tools=[TOOL], automatic_function_calling=NO_AFC)
    async with aiohttp.ClientSession() as s:
        c = client(mock.url, "mock;thinking=1", s)
        reply = await c.aio.models.generate_content(
            model="gemini-x", contents="weather in Paris?", config=config
        )
        stream = await c.aio.models.generate_content_stream(
            model="gemini-x", contents="weather in Paris?", config=config
        )
        chunks = [chunk async for chunk in stream]
    assert reply.function_calls is not None
    assert [(f.name, f.args) for f in reply.function_calls] == [("get_weather", {"city": "Paris"})]
    assert reply.candidates and reply.candidates[0].content and reply.candidates[0].content.parts
    thought = reply.candidates[0].content.parts[0]
    assert thought.thought is True and thought.text == "Let me think about it."
    assert reply.usage_metadata is not None and reply.usage_metadata.thoughts_token_count == 3
    calls = [f for c in chunks for f in c.function_calls or ()]
    assert [(f.name, f.args) for f in calls] == [("get_weather", {"city": "Paris"})]


async def test_finish_reason_and_no_usage(http: aiohttp.ClientSession) -> None:
    headers = {"x-goog-api-key": "mock;stop=MAX_TOKENS;nousage=1;words=2"}
    async with http.post(f"{PATH}:generateContent", json=HI, headers=headers) as resp:
        body = await resp.json()
    assert body["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert "usageMetadata" not in body


async def test_errors_have_google_bodies(mock: MockUpstream, http: aiohttp.ClientSession) -> None:
    async with aiohttp.ClientSession() as s:
        c = client(mock.url, "mock;status=429", s)
        with pytest.raises(errors.ClientError) as info:
            await c.aio.models.generate_content(model="gemini-x", contents="hi")
    assert (info.value.code, info.value.status) == (429, "RESOURCE_EXHAUSTED")
    assert info.value.message == "mock error 429"
    async with http.post(f"{PATH}:generateContent", json=HI) as resp:
        assert resp.status == 403
        assert (await resp.json())["error"]["status"] == "PERMISSION_DENIED"
    headers = {"x-goog-api-key": "mock"}
    async with http.post(f"{PATH}:generateContent", json={}, headers=headers) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["status"] == "INVALID_ARGUMENT"
    async with http.post(f"{PATH}:countTokens", json=HI, headers=headers) as resp:
        assert resp.status == 404


async def test_cut_stream_drops_the_connection(http: aiohttp.ClientSession) -> None:
    url = f"{PATH}:streamGenerateContent?alt=sse"
    seen = b""
    with pytest.raises(aiohttp.ClientPayloadError):
        async with http.post(url, json=HI, headers={"x-goog-api-key": "mock;cut=2"}) as resp:
            async for chunk in resp.content.iter_any():
                seen += chunk
    assert seen.count(b"data: ") == 2 and b"finishReason" not in seen


async def test_embeddings_single_and_batch(mock: MockUpstream) -> None:
    async with aiohttp.ClientSession() as s:
        c = client(mock.url, "mock", s)
        one = await c.aio.models.embed_content(model="text-embedding-004", contents="hello")
        many = await c.aio.models.embed_content(
            model="text-embedding-004", contents=["hello", "other words"]
        )
    assert one.embeddings is not None and len(one.embeddings) == 1
    assert many.embeddings is not None and len(many.embeddings) == 2
    assert one.embeddings[0].values == many.embeddings[0].values
    assert many.embeddings[0].values != many.embeddings[1].values
    assert len(many.embeddings[1].values or ()) == 8
    paths = [r["path"] for r in await mock.calls("mock")][-2:]
    assert paths == [
        "/v1beta/models/text-embedding-004:batchEmbedContents",
        "/v1beta/models/text-embedding-004:batchEmbedContents",
    ]


async def test_embed_content_shape(http: aiohttp.ClientSession) -> None:
    body = {"content": {"parts": [{"text": "hi"}]}}
    headers = {"x-goog-api-key": "mock"}
    async with http.post(f"{PATH}:embedContent", json=body, headers=headers) as resp:
        data = await resp.json()
    assert list(data) == ["embedding"] and len(data["embedding"]["values"]) == 8
    async with http.post(f"{PATH}:batchEmbedContents", json={}, headers=headers) as resp:
        assert resp.status == 400
