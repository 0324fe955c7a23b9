"""End to end: the openai SDK through `relay serve` to an Azure OpenAI channel (type 3):
deployment URLs with the channel's api-version, the `api-key` header, streams, embeddings,
the Responses route, the dot rule of old channels, billing, and the admin channel test."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import openai
import pytest
from admin_client import root
from chat_fixtures import HI_BRIEFLY
from relay_harness import MockUpstream, RelayServer, Scenario, Store
from sqlalchemy import text

pytestmark = pytest.mark.integration

AZURE = 3
MINI = "gpt-4o-mini"  # ratio 0.075, completion 4
DEPLOYMENTS = "/openai/deployments"


def client(relay: RelayServer, api_key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=relay.base_url, api_key=api_key, max_retries=0)


def quota(prompt: int, completion: int) -> int:
    value = (Decimal(prompt) + Decimal(completion) * 4) * Decimal("0.075")
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def azure(
    store: Store, upstream: MockUpstream, key: str, *, models: tuple[str, ...] = (MINI,), **ch: str
) -> Scenario:
    return await store.scenario(
        upstream, channels=[{"key": key, "type": AZURE, **ch}], models=models
    )


async def test_chat_goes_to_the_deployment_with_api_key_and_is_billed(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=AZ;pt=50;ct=10;words=3"
    s = await azure(store, upstream, key, other="2024-10-21")
    async with client(relay, s.api_key) as api:
        reply = await api.chat.completions.create(model=MINI, messages=HI_BRIEFLY)
    assert reply.choices[0].message.content == "[AZ] Hello from the"
    assert reply.usage is not None and reply.usage.prompt_tokens == 50
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == f"{DEPLOYMENTS}/{MINI}/chat/completions"
    assert sent["query"] == {"api-version": "2024-10-21"}
    assert sent["headers"]["api-key"] == key and "authorization" not in sent["headers"]
    assert sent["body"]["model"] == MINI and sent["body"]["messages"][-1]["content"] == "hello"
    assert (await store.balances(s))["token_used"] == quota(50, 10) == 7


async def test_a_stream_asks_for_usage_and_bills_it(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;pt=40;ct=20;words=4"
    s = await azure(store, upstream, key)
    async with client(relay, s.api_key) as api:
        stream = await api.chat.completions.create(model=MINI, messages=HI_BRIEFLY, stream=True)
        chunks = [c async for c in stream]
    text_out = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text_out == "Hello from the mock"
    assert all(c.usage is None for c in chunks)  # the injected usage chunk stays hidden
    sent = (await upstream.calls(key))[-1]
    assert sent["query"] == {"api-version": "2025-04-01-preview"}  # AZURE_DEFAULT_API_VERSION
    assert sent["body"]["stream_options"] == {"include_usage": True}
    assert (await store.balances(s))["token_used"] == quota(40, 20) == 9


async def test_embeddings_use_the_embeddings_deployment(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;pt=6"
    embedder = "text-embedding-3-small"  # ratio 0.01
    s = await azure(store, upstream, key, models=(embedder,), other="2024-02-01")
    async with client(relay, s.api_key) as api:
        emb = await api.embeddings.create(model=embedder, input="one two three")
    assert len(emb.data[0].embedding) == 8
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == f"{DEPLOYMENTS}/{embedder}/embeddings"
    assert sent["query"] == {"api-version": "2024-02-01"}
    assert (await store.balances(s))["token_used"] == 1  # 6 × 0.01, at least 1


async def test_responses_use_the_v1_route_and_the_channel_responses_version(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=R;pt=30;ct=10;words=2"
    s = await azure(store, upstream, key)
    pinned_key = "mock;tag=P;pt=30;ct=10;words=2"
    pinned = await azure(
        store, upstream, pinned_key, settings='{"azure_responses_version": "2025-03-01-preview"}'
    )
    async with client(relay, s.api_key) as api:
        r = await api.responses.create(model=MINI, input="hello there")
    async with client(relay, pinned.api_key) as api:
        stream = await api.responses.create(model=MINI, input="hello there", stream=True)
        events = [e async for e in stream]
    assert r.output_text.startswith("[R]")
    assert events[-1].type == "response.completed"
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/openai/v1/responses" and sent["query"] == {"api-version": "preview"}
    assert sent["headers"]["api-key"] == key
    pinned_sent = (await upstream.calls(pinned_key))[-1]
    assert pinned_sent["query"] == {"api-version": "2025-03-01-preview"}
    assert (await store.balances(s))["token_used"] == quota(30, 10) == 5


async def test_channels_created_before_2025_05_10_drop_the_dots(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=OLD"
    s = await azure(store, upstream, key, models=("gpt-3.5-turbo",))
    async with store.engine.begin() as conn:
        await conn.execute(
            text("UPDATE channels SET created_time = 1700000000 WHERE id = :id"),
            {"id": s.channel_ids[0]},
        )
    await store.publish_routing()
    async with client(relay, s.api_key) as api:
        await api.chat.completions.create(model="gpt-3.5-turbo", messages=HI_BRIEFLY)
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == f"{DEPLOYMENTS}/gpt-35-turbo/chat/completions"
    assert sent["body"]["model"] == "gpt-3.5-turbo"


async def test_the_admin_channel_test_reaches_the_deployment(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=T;pt=5;ct=2"
    s = await azure(store, upstream, key, other="2024-06-01")
    async with root(relay) as admin:
        reply = await admin.get(f"/api/channel/test/{s.channel_ids[0]}")
    assert reply.body["success"] is True, reply.body
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == f"{DEPLOYMENTS}/{MINI}/chat/completions"
    assert sent["query"] == {"api-version": "2024-06-01"} and sent["headers"]["api-key"] == key


async def test_the_clients_api_version_query_overrides_the_channels(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=AV;pt=5;ct=2"
    s = await azure(store, upstream, key, other="2024-10-21")
    asked = openai.AsyncOpenAI(
        base_url=relay.base_url,
        api_key=s.api_key,
        max_retries=0,
        default_query={"api-version": "2024-06-01"},
    )
    async with asked as api:
        reply = await api.chat.completions.create(model=MINI, messages=HI_BRIEFLY)
    assert reply.choices[0].message.content is not None
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == f"{DEPLOYMENTS}/{MINI}/chat/completions"
    assert sent["query"] == {"api-version": "2024-06-01"}
