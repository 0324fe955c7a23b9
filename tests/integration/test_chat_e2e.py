"""End to end: the openai SDK through a real `relay serve` (2 workers) to the mock upstream."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import openai
import pytest
from relay_harness import MockUpstream, RelayServer, Store

pytestmark = pytest.mark.integration


def client(relay: RelayServer, api_key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=relay.base_url, api_key=api_key, max_retries=0)


def expected_quota(prompt: int, completion: int, model_ratio: str, completion_ratio: str) -> int:
    """new-api's settlement formula, computed independently with Decimal."""
    value = (Decimal(prompt) + Decimal(completion) * Decimal(completion_ratio)) * Decimal(
        model_ratio
    )
    return max(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)), 1)


async def test_non_stream_chat_is_relayed_and_billed(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;tag=A;pt=57;ct=34"}])
    async with client(relay, s.api_key) as api:
        reply = await api.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}]
        )
    completion = reply.parse()
    assert completion.choices[0].message.content.startswith("[A]")
    assert completion.usage is not None and completion.usage.prompt_tokens == 57
    assert reply.headers["X-Oneapi-Request-Id"]
    # gpt-4o-mini: model ratio 0.075, completion ratio 4 (new-api defaults)
    quota = expected_quota(57, 34, "0.075", "4")
    balances = await store.balances(s)
    assert balances["token_used"] == quota
    assert balances["token_held"] == 0 and balances["user_held"] == 0
    await store.wait_drained()
    row = await store.scalar(
        "SELECT quota FROM logs WHERE request_id = :rid", rid=reply.headers["X-Oneapi-Request-Id"]
    )
    assert row == quota
    assert (
        await store.scalar("SELECT used_quota FROM tokens WHERE id = :id", id=s.token_id) == quota
    )


async def test_stream_chat_hides_injected_usage_unless_asked(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;tag=S;pt=10;ct=5"}])
    async with client(relay, s.api_key) as api:
        stream = await api.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        chunks = [c async for c in stream]
        assert all(c.usage is None for c in chunks)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text.startswith("[S]")

        stream = await api.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
        usage = [c.usage for c in chunks if c.usage is not None]
        assert len(usage) == 1 and usage[0].completion_tokens == 5
    # Both streams were billed from the upstream's usage (injected for the first).
    assert (await store.balances(s))["token_used"] == 2 * expected_quota(10, 5, "0.075", "4")


async def test_stream_without_upstream_usage_is_counted_locally(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, channels=[{"key": "mock;nousage=1;words=40"}])
    async with client(relay, s.api_key) as api:
        stream = await api.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "count me"}], stream=True
        )
        assert len([c async for c in stream]) > 40
    assert (await store.balances(s))["token_used"] > 0


async def test_embeddings_and_completions(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(
        upstream,
        channels=[{"key": "mock;pt=6"}],
        models=("text-embedding-3-small", "gpt-3.5-turbo-instruct"),
    )
    await store.option(
        "ModelRatio", '{"text-embedding-3-small": 0.01, "gpt-3.5-turbo-instruct": 0.75}'
    )
    await store.publish_routing()
    try:
        async with client(relay, s.api_key) as api:
            emb = await api.embeddings.create(model="text-embedding-3-small", input="one two three")
            assert len(emb.data[0].embedding) == 8
            done = await api.completions.create(model="gpt-3.5-turbo-instruct", prompt="say hi")
            assert done.choices[0].text
    finally:
        await store.option("ModelRatio", "")
        await store.publish_routing()


async def test_models_list_shows_the_groups_priced_models(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await store.scenario(upstream, models=("gpt-4o-mini", "gpt-4o", "unpriced-model-x"))
    async with client(relay, s.api_key) as api:
        ids = sorted([m.id async for m in api.models.list()])
    assert ids == ["gpt-4o", "gpt-4o-mini"]
