"""End to end: long streams converted between formats (most of their chunks take the spliced
text path) reach each SDK with the same text and usage as the whole answer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import anthropic
import openai
import pytest
from chat_fixtures import HI_BRIEFLY
from google import genai
from google.genai import types
from relay_harness import MockUpstream, RelayServer, Store

pytestmark = pytest.mark.integration

ANTHROPIC, GEMINI = 14, 24
CLAUDE = "claude-sonnet-4-20250514"
FLASH = "gemini-2.0-flash"
MINI = "gpt-4o-mini"
WORDS = 60


def openai_client(relay: RelayServer, api_key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=relay.base_url, api_key=api_key, max_retries=0)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.mark.parametrize(("channel", "model"), [(ANTHROPIC, CLAUDE), (GEMINI, FLASH)])
async def test_openai_client_stream_from_another_format(
    relay: RelayServer, store: Store, upstream: MockUpstream, channel: int, model: str
) -> None:
    key = f"conv{channel};tag=L;pt=40;ct={WORDS};words={WORDS}"
    s = await store.scenario(upstream, channels=[{"key": key, "type": channel}], models=(model,))
    async with openai_client(relay, s.api_key) as api:
        whole = await api.chat.completions.create(model=model, messages=HI_BRIEFLY)
        stream = await api.chat.completions.create(
            model=model, messages=HI_BRIEFLY, stream=True, stream_options={"include_usage": True}
        )
        chunks = [c async for c in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text.split()) > WORDS // 2
    assert text == whole.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = [c.usage for c in chunks if c.usage is not None]
    assert whole.usage is not None and len(usage) == 1
    assert (usage[0].prompt_tokens, usage[0].completion_tokens) == (
        whole.usage.prompt_tokens,
        whole.usage.completion_tokens,
    )


async def test_claude_client_stream_from_an_openai_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = f"conv-claude;tag=L;pt=40;ct={WORDS};words={WORDS}"
    s = await store.scenario(upstream, channels=[{"key": key}])
    async with anthropic.AsyncAnthropic(
        base_url=relay.url, api_key=s.api_key, max_retries=0
    ) as api:
        whole = await api.messages.create(model=MINI, max_tokens=500, messages=HI_BRIEFLY)
        async with api.messages.stream(model=MINI, max_tokens=500, messages=HI_BRIEFLY) as stream:
            text = "".join([t async for t in stream.text_stream])
            final = await stream.get_final_message()
    assert len(text.split()) > WORDS // 2
    assert text == "".join(b.text for b in whole.content if b.type == "text")
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (40, WORDS)


async def test_responses_client_stream_from_an_openai_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = f"conv-resp;tag=L;pt=40;ct={WORDS};words={WORDS}"
    s = await store.scenario(upstream, channels=[{"key": key}])
    async with openai_client(relay, s.api_key) as api:
        whole = await api.responses.create(model=MINI, input="hello", instructions="be brief")
        async with api.responses.stream(
            model=MINI, input="hello", instructions="be brief"
        ) as stream:
            deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
            final = await stream.get_final_response()
    assert len(deltas) > WORDS // 2
    assert "".join(deltas) == final.output_text == whole.output_text
    assert final.usage is not None and (final.usage.input_tokens, final.usage.output_tokens) == (
        40,
        WORDS,
    )


async def test_gemini_client_stream_from_an_openai_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream, session: aiohttp.ClientSession
) -> None:
    key = f"conv-gemini;tag=L;pt=40;ct={WORDS};words={WORDS}"
    s = await store.scenario(upstream, channels=[{"key": key}])
    options = types.HttpOptions(
        base_url=relay.url,
        api_version="v1beta",
        retry_options=types.HttpRetryOptions(attempts=1),
        aiohttp_client=session,
    )
    api = genai.Client(api_key=s.api_key, http_options=options)
    whole = await api.aio.models.generate_content(model=MINI, contents="hello")
    stream = await api.aio.models.generate_content_stream(model=MINI, contents="hello")
    chunks = [chunk async for chunk in stream]
    text = "".join(c.text or "" for c in chunks)
    assert len(text.split()) > WORDS // 2
    assert text == whole.text
    last = chunks[-1]
    assert last.usage_metadata is not None
    assert (last.usage_metadata.prompt_token_count, last.usage_metadata.candidates_token_count) == (
        40,
        WORDS,
    )


async def test_a_stream_without_usage_is_counted_as_the_whole_answer(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    """The texts held back from the counter (the upstream might report usage) are counted
    when it does not: as many completion tokens as the same answer not streamed."""
    key = f"conv-nousage;nousage=1;words={WORDS}"
    s = await store.scenario(upstream, channels=[{"key": key}])
    async with anthropic.AsyncAnthropic(
        base_url=relay.url, api_key=s.api_key, max_retries=0
    ) as api:
        await api.messages.create(model=MINI, max_tokens=500, messages=HI_BRIEFLY)
        async with api.messages.stream(model=MINI, max_tokens=500, messages=HI_BRIEFLY) as stream:
            await stream.get_final_message()
    await store.wait_drained()
    sql = "SELECT {} FROM logs WHERE token_id = :t AND completion_tokens > 0"
    assert await store.scalar(sql.format("COUNT(*)"), t=s.token_id) == 2
    assert await store.scalar(sql.format("COUNT(DISTINCT completion_tokens)"), t=s.token_id) == 1
    assert await store.scalar(sql.format("MIN(completion_tokens)"), t=s.token_id) > WORDS // 2
