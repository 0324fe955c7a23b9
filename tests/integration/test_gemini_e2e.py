"""End to end: the google-genai SDK through `relay serve` to a Gemini channel (bytes passed
through) and to an OpenAI channel (converted through the pivot), and the openai and anthropic
SDKs to a Gemini channel; billed from Gemini's usageMetadata."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import aiohttp
import anthropic
import openai
import orjson
import pytest
from admin_client import root
from chat_fixtures import ASK_TEXT, HI_BRIEFLY, OPENAI_TOOLS
from google import genai
from google.genai import errors, types
from relay_harness import MockUpstream, RelayServer, Scenario, Store

pytestmark = pytest.mark.integration

GEMINI = 24
FLASH = "gemini-2.0-flash"  # ratio 0.05, completion 4
MINI = "gpt-4o-mini"  # ratio 0.075, completion 4
TOOL = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(
            name="get_weather",
            description="Weather for a city",
            parameters_json_schema={"type": "object", "properties": {"city": {"type": "string"}}},
        )
    ]
)
WITH_TOOL = types.GenerateContentConfig(
    tools=[TOOL], automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True)
)
HI = HI_BRIEFLY
ASK = ASK_TEXT


def quota(prompt: int, completion: int, model_ratio: str) -> int:
    """new-api's settlement, computed independently: (prompt + C × 4) × ratio, half up."""
    value = (prompt + completion * Decimal(4)) * Decimal(model_ratio)
    return max(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)), 1)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    # The SDK's own session subclasses aiohttp.ClientSession, which warns: give it ours.
    async with aiohttp.ClientSession() as s:
        yield s


def gemini_client(relay: RelayServer, api_key: str, session: aiohttp.ClientSession) -> genai.Client:
    options = types.HttpOptions(
        base_url=relay.url,
        api_version="v1beta",
        retry_options=types.HttpRetryOptions(attempts=1),
        aiohttp_client=session,
    )
    return genai.Client(api_key=api_key, http_options=options)


async def gemini_scenario(store: Store, upstream: MockUpstream, key: str) -> Scenario:
    return await store.scenario(upstream, channels=[{"key": key, "type": GEMINI}], models=(FLASH,))


# --- Gemini client → Gemini channel ------------------------------------------------------------


async def test_generate_passes_through_a_gemini_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream, session: aiohttp.ClientSession
) -> None:
    key = "gemini1;tag=G;pt=100;ct=20;words=3"
    s = await gemini_scenario(store, upstream, key)
    api = gemini_client(relay, s.api_key, session)
    reply = await api.aio.models.generate_content(
        model=FLASH,
        contents="hello",
        config=types.GenerateContentConfig(system_instruction="be brief", temperature=0.5),
    )
    assert reply.text == "[G] Hello from the"
    assert reply.model_version == FLASH
    assert reply.candidates and reply.candidates[0].finish_reason == types.FinishReason.STOP
    assert reply.usage_metadata is not None
    assert (
        reply.usage_metadata.prompt_token_count,
        reply.usage_metadata.candidates_token_count,
    ) == (
        100,
        20,
    )
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == f"/v1beta/models/{FLASH}:generateContent"
    assert sent["headers"]["x-goog-api-key"] == key and "authorization" not in sent["headers"]
    assert sent["body"] == {  # the client's request, untouched
        "contents": [{"parts": [{"text": "hello"}], "role": "user"}],
        "systemInstruction": {"parts": [{"text": "be brief"}], "role": "user"},
        "generationConfig": {"temperature": 0.5},
    }
    assert (await store.balances(s))["token_used"] == quota(100, 20, "0.05") == 9


async def test_stream_passes_through_a_gemini_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream, session: aiohttp.ClientSession
) -> None:
    key = "gemini2;pt=40;ct=10;words=3"
    s = await gemini_scenario(store, upstream, key)
    api = gemini_client(relay, s.api_key, session)
    stream = await api.aio.models.generate_content_stream(model=FLASH, contents="hello")
    chunks = [chunk async for chunk in stream]
    assert [c.text for c in chunks] == ["Hello", " from", " the"]
    last = chunks[-1]
    assert last.candidates and last.candidates[0].finish_reason == types.FinishReason.STOP
    assert last.usage_metadata is not None and last.usage_metadata.candidates_token_count == 10
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == f"/v1beta/models/{FLASH}:streamGenerateContent"
    assert sent["query"] == {"alt": "sse"}
    # billed from the last (cumulative) usageMetadata
    assert (await store.balances(s))["token_used"] == quota(40, 10, "0.05") == 4


async def test_stream_without_alt_is_sse_and_the_key_may_be_a_query(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await gemini_scenario(store, upstream, "gemini3;pt=8;ct=2;words=2")
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    url = f"{relay.url}/v1/models/{FLASH}:streamGenerateContent?key={s.api_key}"
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as resp:
        assert resp.status == 200 and resp.content_type == "text/event-stream"
        raw = await resp.read()
    frames = [f for f in raw.replace(b"\r\n", b"\n").split(b"\n\n") if f]
    events = [orjson.loads(f.removeprefix(b"data: ")) for f in frames]
    assert [e["candidates"][0]["content"]["parts"][0]["text"] for e in events] == ["Hello", " from"]
    assert b"[DONE]" not in raw
    assert (await store.balances(s))["token_used"] == quota(8, 2, "0.05")


async def test_function_calls_pass_through_a_gemini_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream, session: aiohttp.ClientSession
) -> None:
    key = "gemini4;pt=12;ct=3"
    s = await gemini_scenario(store, upstream, key)
    api = gemini_client(relay, s.api_key, session)
    reply = await api.aio.models.generate_content(model=FLASH, contents=ASK, config=WITH_TOOL)
    stream = await api.aio.models.generate_content_stream(
        model=FLASH, contents=ASK, config=WITH_TOOL
    )
    chunks = [chunk async for chunk in stream]
    assert reply.function_calls is not None
    assert [(f.name, f.args) for f in reply.function_calls] == [("get_weather", {"city": "Paris"})]
    calls = [f for c in chunks for f in c.function_calls or ()]
    assert [(f.name, f.args) for f in calls] == [("get_weather", {"city": "Paris"})]
    sent = (await upstream.calls(key))[-1]
    assert sent["body"]["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    assert (await store.balances(s))["token_used"] == 2 * quota(12, 3, "0.05")


async def test_errors_are_openai_shaped_as_in_new_api_and_refunded(
    relay: RelayServer, store: Store, upstream: MockUpstream, session: aiohttp.ClientSession
) -> None:
    s = await gemini_scenario(store, upstream, "gemini5;status=429")
    api = gemini_client(relay, s.api_key, session)
    with pytest.raises(errors.ClientError) as info:
        await api.aio.models.generate_content(model=FLASH, contents="hi")
    assert info.value.code == 429  # OpenAI-shaped body, as new-api answers Gemini routes
    assert info.value.message is not None
    assert info.value.message.startswith("mock error 429 (request id: ")
    balances = await store.balances(s)
    assert balances["token_used"] == 0 and balances["token_held"] == 0
    # middleware errors (auth) stay OpenAI-shaped, as new-api's are
    url = f"{relay.url}/v1beta/models/{FLASH}:generateContent"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={}, headers={"x-goog-api-key": "sk-nope"}) as resp,
    ):
        assert resp.status == 401
        data = await resp.json()
    assert data["error"]["type"] == "new_api_error"


async def test_gemini_models_list(
    relay: RelayServer, store: Store, upstream: MockUpstream, session: aiohttp.ClientSession
) -> None:
    s = await gemini_scenario(store, upstream, "gemini6")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{relay.url}/v1beta/models", headers={"x-goog-api-key": s.api_key}) as resp,
    ):
        assert resp.status == 200
        data = await resp.json()
    assert data == {"models": [{"name": FLASH, "displayName": FLASH}], "nextPageToken": None}
    url = f"{relay.url}/v1beta/models/{FLASH}:countTokens"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={}, headers={"x-goog-api-key": s.api_key}) as resp,
    ):
        assert resp.status == 404  # no other Gemini action is served
    names = [m.name async for m in await gemini_client(relay, s.api_key, session).aio.models.list()]
    assert names == [FLASH]


# --- Gemini client → OpenAI channel ------------------------------------------------------------


async def test_generate_through_an_openai_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream, session: aiohttp.ClientSession
) -> None:
    key = "gemini7;tag=O;pt=30;ct=6;words=3"
    s = await store.scenario(upstream, channels=[{"key": key}])
    api = gemini_client(relay, s.api_key, session)
    config = types.GenerateContentConfig(system_instruction="be brief", max_output_tokens=50)
    reply = await api.aio.models.generate_content(model=MINI, contents="hello", config=config)
    assert reply.text == "[O] Hello from the"
    assert reply.candidates and reply.candidates[0].finish_reason == types.FinishReason.STOP
    assert reply.usage_metadata is not None
    assert (
        reply.usage_metadata.prompt_token_count,
        reply.usage_metadata.candidates_token_count,
    ) == (
        30,
        6,
    )
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["model"] == MINI and sent["body"]["max_tokens"] == 50
    assert sent["body"]["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello"},
    ]
    assert (await store.balances(s))["token_used"] == quota(30, 6, "0.075") == 4


async def test_stream_and_tools_through_an_openai_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream, session: aiohttp.ClientSession
) -> None:
    key = "gemini8;pt=20;ct=8;words=3"
    s = await store.scenario(upstream, channels=[{"key": key}])
    api = gemini_client(relay, s.api_key, session)
    stream = await api.aio.models.generate_content_stream(model=MINI, contents="hello")
    chunks = [chunk async for chunk in stream]
    assert "".join(c.text or "" for c in chunks) == "Hello from the"
    last = chunks[-1]
    assert last.candidates and last.candidates[0].finish_reason == types.FinishReason.STOP
    assert last.usage_metadata is not None
    assert (last.usage_metadata.prompt_token_count, last.usage_metadata.candidates_token_count) == (
        20,
        8,
    )
    sent = (await upstream.calls(key))[-1]
    assert sent["body"]["stream"] is True
    reply = await api.aio.models.generate_content(model=MINI, contents=ASK, config=WITH_TOOL)
    assert reply.function_calls is not None
    assert [(f.name, f.args) for f in reply.function_calls] == [("get_weather", {"city": "Paris"})]
    tool_stream = await api.aio.models.generate_content_stream(
        model=MINI, contents=ASK, config=WITH_TOOL
    )
    calls = [f async for c in tool_stream for f in c.function_calls or ()]
    assert [(f.name, f.args) for f in calls] == [("get_weather", {"city": "Paris"})]
    assert (await upstream.calls(key))[-1]["body"]["tools"][0]["function"]["name"] == "get_weather"
    assert (await store.balances(s))["token_used"] == 3 * quota(20, 8, "0.075")


async def test_generate_through_an_anthropic_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream, session: aiohttp.ClientSession
) -> None:
    key = "gemini15;tag=K;pt=11;ct=4;words=2"
    claude = "claude-sonnet-4-20250514"  # ratio 1.5, completion 5
    s = await store.scenario(upstream, channels=[{"key": key, "type": 14}], models=(claude,))
    api = gemini_client(relay, s.api_key, session)
    reply = await api.aio.models.generate_content(model=claude, contents="hello")
    stream = await api.aio.models.generate_content_stream(model=claude, contents="hello")
    chunks = [chunk async for chunk in stream]
    assert reply.text == "[K] Hello from"
    assert "".join(c.text or "" for c in chunks) == "[K] Hello from"
    for last in (reply, chunks[-1]):
        assert last.candidates and last.candidates[0].finish_reason == types.FinishReason.STOP
        assert last.usage_metadata is not None
        assert last.usage_metadata.prompt_token_count == 11
        assert last.usage_metadata.candidates_token_count == 4
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/v1/messages" and sent["body"]["model"] == claude
    assert sent["body"]["messages"] == [{"role": "user", "content": "hello"}]
    # (11 + 4 × 5) × 1.5 = 46.5 → 47, twice
    assert (await store.balances(s))["token_used"] == 2 * 47


async def test_bad_gemini_request_is_an_openai_shaped_400(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "gemini9"}])
    url = f"{relay.url}/v1beta/models/{MINI}:generateContent"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"contents": "hi"}, headers={"x-goog-api-key": s.api_key}) as resp,
    ):
        assert resp.status == 400
        data = await resp.json()
    # new-api answers its Gemini routes in the OpenAI shape.
    assert data["error"]["code"] == "convert_request_failed"
    assert {"message", "type", "code"} <= set(data["error"]) and "status" not in data["error"]
    assert "contents" in data["error"]["message"]
    assert (await store.balances(s))["token_held"] == 0


# --- OpenAI and Claude clients → Gemini channel -------------------------------------------------


async def test_openai_chat_through_a_gemini_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "gemini10;tag=C;pt=50;ct=10;words=3"
    s = await gemini_scenario(store, upstream, key)
    async with openai.AsyncOpenAI(base_url=relay.base_url, api_key=s.api_key, max_retries=0) as api:
        reply = await api.chat.completions.create(model=FLASH, messages=HI, max_tokens=64)
        stream = await api.chat.completions.create(
            model=FLASH, messages=HI, stream=True, stream_options={"include_usage": True}
        )
        chunks = [c async for c in stream]
    assert reply.object == "chat.completion" and reply.model == FLASH
    assert reply.choices[0].message.content == "[C] Hello from the"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (50, 10)
    sent = (await upstream.calls(key))[-2]
    assert sent["path"] == f"/v1beta/models/{FLASH}:generateContent"
    assert sent["body"]["contents"] == [{"role": "user", "parts": [{"text": "hello"}]}]
    assert sent["body"]["systemInstruction"] == {"parts": [{"text": "be brief"}]}
    assert sent["body"]["generationConfig"]["maxOutputTokens"] == 64
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "[C] Hello from the"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = [c.usage for c in chunks if c.usage is not None]
    assert len(usage) == 1 and (usage[0].prompt_tokens, usage[0].completion_tokens) == (50, 10)
    assert (await upstream.calls(key))[-1]["query"] == {"alt": "sse"}
    assert (await store.balances(s))["token_used"] == 2 * quota(50, 10, "0.05")


async def test_openai_tools_and_finish_reasons_through_a_gemini_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "gemini11;pt=15;ct=5"
    s = await gemini_scenario(store, upstream, key)
    ask: list[Any] = [{"role": "user", "content": ASK}]
    async with openai.AsyncOpenAI(base_url=relay.base_url, api_key=s.api_key, max_retries=0) as api:
        reply = await api.chat.completions.create(model=FLASH, messages=ask, tools=OPENAI_TOOLS)
        stream = await api.chat.completions.create(
            model=FLASH, messages=ask, tools=OPENAI_TOOLS, stream=True
        )
        chunks = [c async for c in stream]
        call = reply.choices[0].message.tool_calls[0]  # type: ignore[index]
        follow = [
            *ask,
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "9C"},
        ]
        await api.chat.completions.create(model=FLASH, messages=follow, tools=OPENAI_TOOLS)
    assert reply.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather" and call.function.arguments == '{"city":"Paris"}'
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert [tc.function.name for tc in calls] == ["get_weather"]  # type: ignore[union-attr]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    first, *_, last = await upstream.calls(key)
    declared = first["body"]["tools"][0]["functionDeclarations"][0]
    assert declared["name"] == "get_weather"
    roles = [c["role"] for c in last["body"]["contents"]]
    assert roles == ["user", "model", "user"]
    assert last["body"]["contents"][1]["parts"][0]["functionCall"]["name"] == "get_weather"
    assert last["body"]["contents"][2]["parts"][0]["functionResponse"]["name"] == "get_weather"
    capped = await gemini_scenario(store, upstream, "gemini12;stop=MAX_TOKENS;pt=5;ct=2")
    async with openai.AsyncOpenAI(
        base_url=relay.base_url, api_key=capped.api_key, max_retries=0
    ) as api:
        short = await api.chat.completions.create(model=FLASH, messages=HI)
    assert short.choices[0].finish_reason == "length"


async def test_claude_message_through_a_gemini_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "gemini13;tag=A;pt=21;ct=7;words=2"
    s = await gemini_scenario(store, upstream, key)
    hello: list[Any] = [{"role": "user", "content": "hello"}]
    async with anthropic.AsyncAnthropic(
        base_url=relay.url, api_key=s.api_key, max_retries=0
    ) as api:
        msg = await api.messages.create(model=FLASH, max_tokens=32, messages=hello)
        async with api.messages.stream(model=FLASH, max_tokens=32, messages=hello) as stream:
            text = "".join([t async for t in stream.text_stream])
            final = await stream.get_final_message()
    assert text == "[A] Hello from" and final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (21, 7)
    assert msg.content[0].type == "text" and msg.content[0].text == "[A] Hello from"
    assert msg.stop_reason == "end_turn"
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (21, 7)
    assert (await upstream.calls(key))[-1][
        "path"
    ] == f"/v1beta/models/{FLASH}:streamGenerateContent"
    assert (await store.balances(s))["token_used"] == 2 * quota(21, 7, "0.05")


async def test_admin_channel_test_speaks_generate_content(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "gemini14;tag=PROBE;pt=6;ct=3"
    channel_id = await store.channel(key=key, models=[FLASH], base_url=upstream.url, type=GEMINI)
    async with root(relay) as admin:
        reply = await admin.get(f"/api/channel/test/{channel_id}")
    assert reply.status == 200 and reply.body["success"] is True, reply.body
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == f"/v1beta/models/{FLASH}:generateContent"
    assert sent["headers"]["x-goog-api-key"] == key
    assert sent["body"]["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


async def test_embeddings_pass_through_a_gemini_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream, session: aiohttp.ClientSession
) -> None:
    key = "gemini16"
    embedder = "gemini-embedding-001"  # ratio 0.075
    s = await store.scenario(upstream, channels=[{"key": key, "type": GEMINI}], models=(embedder,))
    api = gemini_client(relay, s.api_key, session)
    batch = await api.aio.models.embed_content(model=embedder, contents=["hello", "more words"])
    assert batch.embeddings is not None and len(batch.embeddings) == 2
    assert len(batch.embeddings[0].values or ()) == 8
    raw = b'{"content": {"parts": [{"text": "hello world again"}]}}'
    url = f"{relay.url}/v1beta/models/{embedder}:embedContent"
    headers = {"x-goog-api-key": s.api_key, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http, http.post(url, data=raw, headers=headers) as resp:
        assert resp.status == 200
        one = await resp.json()
        request_id = resp.headers["X-Oneapi-Request-Id"]
    assert len(one["embedding"]["values"]) == 8
    first, last = (await upstream.calls(key))[-2:]
    assert first["path"] == f"/v1beta/models/{embedder}:batchEmbedContents"
    assert last["path"] == f"/v1beta/models/{embedder}:embedContent"
    assert last["body"] == orjson.loads(raw) and last["headers"]["x-goog-api-key"] == key
    # Gemini reports no usage for embeddings: the prompt is counted locally, as new-api does.
    await store.wait_drained()
    prompt = await store.scalar(
        "SELECT prompt_tokens FROM logs WHERE request_id = :r", r=request_id
    )
    charged = await store.scalar("SELECT quota FROM logs WHERE request_id = :r", r=request_id)
    assert prompt > 0 and charged == quota(prompt, 0, "0.075")
    balances = await store.balances(s)
    assert balances["token_held"] == 0 and balances["token_used"] > charged
