"""End to end: the openai SDK through `relay serve` to an Ali / DashScope channel (type 17):
compatible-mode paths, the SSE header and usage of streams, new-api's top_p clamp, billing;
the anthropic SDK to DashScope's Anthropic API for ALI_ANTHROPIC_MESSAGES_MODELS, else Chat."""

from __future__ import annotations

import anthropic
import openai
import pytest
from chat_fixtures import HI_BRIEFLY
from relay_harness import MockUpstream, RelayServer, Scenario, Store

pytestmark = pytest.mark.integration

ALI = 17
QWEN = "qwen-plus"  # ratio 10, completion 1


def client(relay: RelayServer, api_key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=relay.base_url, api_key=api_key, max_retries=0)


async def dashscope(
    store: Store, upstream: MockUpstream, key: str, *, models: tuple[str, ...] = (QWEN,)
) -> Scenario:
    return await store.scenario(upstream, channels=[{"key": key, "type": ALI}], models=models)


async def test_chat_goes_to_compatible_mode_with_top_p_clamped_and_is_billed(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=Q;pt=5;ct=3;words=3"
    s = await dashscope(store, upstream, key)
    async with client(relay, s.api_key) as api:
        reply = await api.chat.completions.create(model=QWEN, messages=HI_BRIEFLY, top_p=1)
    assert reply.choices[0].message.content == "[Q] Hello from the"
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/compatible-mode/v1/chat/completions"
    assert sent["headers"]["authorization"] == f"Bearer {key}"
    assert sent["body"]["top_p"] == 0.99 and "x-dashscope-sse" not in sent["headers"]
    assert (await store.balances(s))["token_used"] == (5 + 3) * 10


async def test_a_stream_asks_for_sse_and_usage(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;pt=7;ct=2;words=2"
    s = await dashscope(store, upstream, key)
    async with client(relay, s.api_key) as api:
        stream = await api.chat.completions.create(
            model=QWEN, messages=HI_BRIEFLY, stream=True, stream_options={"include_usage": True}
        )
        chunks = [c async for c in stream]
    usage = [c.usage for c in chunks if c.usage is not None]
    assert len(usage) == 1 and (usage[0].prompt_tokens, usage[0].completion_tokens) == (7, 2)
    sent = (await upstream.calls(key))[-1]
    assert sent["headers"]["x-dashscope-sse"] == "enable"
    assert sent["body"]["stream_options"] == {"include_usage": True}
    assert (await store.balances(s))["token_used"] == (7 + 2) * 10


async def test_embeddings_use_the_compatible_mode_path(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;pt=4"
    embedder = "text-embedding-v3"
    s = await dashscope(store, upstream, key, models=(embedder,))
    await store.option("ModelRatio", '{"text-embedding-v3": 0.5}')
    await store.publish_routing()
    try:
        async with client(relay, s.api_key) as api:
            emb = await api.embeddings.create(model=embedder, input="one two")
    finally:
        await store.option("ModelRatio", "")
        await store.publish_routing()
    assert len(emb.data[0].embedding) == 8
    assert (await upstream.calls(key))[-1]["path"] == "/compatible-mode/v1/embeddings"
    assert (await store.balances(s))["token_used"] == 2


async def test_claude_clients_meet_the_anthropic_api_for_its_models_only(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=C;pt=5;ct=3;words=3"
    s = await dashscope(store, upstream, key, models=(QWEN, "deepseek-chat"))
    hi = [{"role": "user", "content": "hello"}]
    async with anthropic.AsyncAnthropic(
        base_url=relay.url, api_key=s.api_key, max_retries=0
    ) as api:
        async with api.messages.stream(model=QWEN, max_tokens=64, messages=hi) as stream:
            native = await stream.get_final_message()
        converted = await api.messages.create(model="deepseek-chat", max_tokens=64, messages=hi)
    assert native.content[0].type == "text" and native.content[0].text == "[C] Hello from the"
    assert converted.content[0].type == "text" and converted.content[0].text.startswith("[C]")
    first, second = (await upstream.calls(key))[-2:]
    assert first["path"] == "/apps/anthropic/v1/messages" and first["stream"] is True
    assert first["headers"]["authorization"] == f"Bearer {key}"
    assert first["headers"]["x-dashscope-sse"] == "enable" and "x-api-key" not in first["headers"]
    assert first["body"]["messages"] == hi and first["body"]["max_tokens"] == 64
    assert second["path"] == "/compatible-mode/v1/chat/completions"
