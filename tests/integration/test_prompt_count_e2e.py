"""End to end: when the upstream reports no usage, the prompt is counted as new-api HEAD counts
it — GetTokenCountMeta's texts joined with "\\n" and counted once, plus the OpenAI format's
3 per message and name, 8 per tool and 3 (service/token_counter.go:179). The expected texts
below are written out by hand from relaykit/dto/*.go; models outside the OpenAI family keep the
count on new-api's character estimator, so no tiktoken load races the first request."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import anthropic
import openai
import pytest
from google import genai
from google.genai import types
from relay_harness import MockUpstream, RelayServer, Scenario, Store

from relay._fast.tokens import estimate_tokens, family_for_model

pytestmark = pytest.mark.integration

ANTHROPIC, GEMINI = 14, 24
DEEPSEEK = "deepseek-chat"
CLAUDE = "claude-3-haiku-20240307"
FLASH = "gemini-2.0-flash"
NO_USAGE = "mock;nousage=1;words=3"
PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "maximum": 1e6}},
    "required": ["city"],
}


def estimate(model: str, *texts: str) -> int:
    return estimate_tokens("\n".join(texts), family_for_model(model))


async def logged_prompt(store: Store, s: Scenario) -> list[int]:
    await store.wait_drained()
    async with store.engine.connect() as conn:
        rows = await conn.exec_driver_sql(
            f"SELECT prompt_tokens FROM logs WHERE token_id = {int(s.token_id)} ORDER BY id"
        )
        return [row[0] for row in rows]


def openai_client(relay: RelayServer, s: Scenario) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=relay.base_url, api_key=s.api_key, max_retries=0)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def test_chat_prompt_with_roles_names_and_tools(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": NO_USAGE}], models=(DEEPSEEK,))
    tool = {"name": "get_weather", "description": "Weather", "parameters": PARAMETERS}
    async with openai_client(relay, s) as api:
        for stream in (False, True):
            reply = await api.chat.completions.create(
                model=DEEPSEEK,
                messages=[
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Weather in Paris?", "name": "ann"},
                ],
                tools=[{"type": "function", "function": tool}],
                stream=stream,
            )
            if stream:
                assert [c async for c in reply]  # type: ignore[union-attr]
    texts = (
        "system",
        "Be brief.",
        "user",
        "ann",
        "Weather in Paris?",
        "get_weather",
        "Weather",
        "map[properties:map[city:map[type:string] days:map[maximum:1e+06 type:integer]] "
        "required:[city] type:object]",
    )
    expected = 2 * 3 + 3 + 8 + 3 + estimate(DEEPSEEK, *texts)
    assert await logged_prompt(store, s) == [expected, expected]


async def test_completions_and_embeddings_prompts(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    embedder = "text-embedding-3-small"
    key = NO_USAGE + ";pt=0"  # the mock's embeddings report a usage of 0: counted locally
    s = await store.scenario(upstream, channels=[{"key": key}], models=(DEEPSEEK, embedder))
    async with openai_client(relay, s) as api:
        await api.completions.create(model=DEEPSEEK, prompt=["say", "hi"])
        await api.embeddings.create(model=embedder, input=["hello", "more words"])
    completions = 3 + estimate(DEEPSEEK, "say", "hi")  # the OpenAI format's 3 per request
    embeddings = estimate(embedder, "hello", "more words")  # the embedding format adds nothing
    assert await logged_prompt(store, s) == [completions, embeddings]


async def test_responses_prompt_reads_input_and_raw_json_fields(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": NO_USAGE}], models=(DEEPSEEK,))
    async with openai_client(relay, s) as api:
        await api.responses.create(
            model=DEEPSEEK,
            instructions="Be brief.",
            input=[{"role": "user", "content": [{"type": "input_text", "text": "Hi there"}]}],
            metadata={"k": "v"},
        )
    texts = ("Hi there", '"Be brief."', '{"k":"v"}')  # instructions and metadata as sent
    assert await logged_prompt(store, s) == [estimate(DEEPSEEK, *texts)]


async def test_claude_messages_prompt(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    channel = {"key": NO_USAGE, "type": ANTHROPIC}
    s = await store.scenario(upstream, channels=[channel], models=(CLAUDE,))
    tool = {"name": "get_weather", "input_schema": PARAMETERS}
    async with anthropic.AsyncAnthropic(
        base_url=relay.url, api_key=s.api_key, max_retries=0
    ) as api:
        await api.messages.create(
            model=CLAUDE,
            max_tokens=50,
            system="Be brief.",
            tools=[tool],  # type: ignore[list-item]
            messages=[
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "t1", "name": "get_weather",
                     "input": {"city": "Paris", "days": 2}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "9C"}]},
            ],
        )  # fmt: skip
    texts = (
        "Be brief.",
        "user",
        "Weather in Paris?",
        "assistant",
        "get_weather",
        '{"city":"Paris","days":2}',
        "user",
        '"9C"',
    )  # no tools (ProcessTools skips decoded maps) and no per-message tokens
    assert await logged_prompt(store, s) == [estimate(CLAUDE, *texts)]


async def test_gemini_prompt_counts_part_texts_and_images(
    relay: RelayServer, store: Store, upstream: MockUpstream, session: aiohttp.ClientSession
) -> None:
    s = await store.scenario(
        upstream, channels=[{"key": NO_USAGE, "type": GEMINI}], models=(FLASH,)
    )
    options = types.HttpOptions(
        base_url=relay.url,
        api_version="v1beta",
        retry_options=types.HttpRetryOptions(attempts=1),
        aiohttp_client=session,
    )
    api = genai.Client(api_key=s.api_key, http_options=options)
    image = types.Part.from_bytes(data=b"\x89PNG fake", mime_type="image/png")
    await api.aio.models.generate_content(
        model=FLASH,
        contents=[types.Content(role="user", parts=[types.Part(text="Describe"), image])],
        config=types.GenerateContentConfig(system_instruction="Not counted."),
    )
    assert await logged_prompt(store, s) == [520 + estimate(FLASH, "Describe")]
