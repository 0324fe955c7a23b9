"""End to end: embeddings across formats through `relay serve` — the openai SDK to a Gemini
channel (new-api's conversion: batchEmbedContents, usage counted locally) and the google-genai
SDK to an OpenAI channel (relay's superset); vectors as the mock returned them, billed as
prompt tokens × model ratio × group ratio."""

from __future__ import annotations

import base64
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import aiohttp
import openai
import orjson
import pytest
from google import genai
from google.genai import types
from relay_harness import MockUpstream, RelayServer, Scenario, Store
from sqlalchemy import text

pytestmark = pytest.mark.integration

GEMINI = 24
OPENAI = 1
GEMINI_EMBEDDER = "gemini-embedding-001"  # ratio 0.075
OPENAI_EMBEDDER = "text-embedding-3-small"  # ratio 0.01
GROUP_RATIO = 2
TEXTS = ["hello", "more words"]


def quota(prompt: int, model_ratio: str) -> int:
    """new-api's settlement of an embeddings call, computed independently (completion 0)."""
    value = prompt * Decimal(model_ratio) * GROUP_RATIO
    return max(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)), 1)


@asynccontextmanager
async def group_ratio(store: Store, group: str) -> AsyncIterator[None]:
    """The scenario's group priced at GROUP_RATIO for a block; the option's row restored after."""
    key = "GroupRatio"
    old = await store.scalar('SELECT value FROM options WHERE "key" = :k', k=key)
    ratios = {"default": 1, "vip": 1, "svip": 1, group: GROUP_RATIO}
    await store.option(key, orjson.dumps(ratios).decode())
    await store.publish_routing()
    try:
        yield
    finally:
        if old is None:
            async with store.engine.begin() as conn:
                await conn.execute(text('DELETE FROM options WHERE "key" = :k'), {"k": key})
        else:
            await store.option(key, old)
        await store.publish_routing()


async def mock_post(url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    """Ask the mock upstream directly: what it answers is what relay must hand on."""
    async with aiohttp.ClientSession() as http, http.post(url, json=body, headers=headers) as resp:
        assert resp.status == 200
        return await resp.json()


async def logged(store: Store, request_id: str) -> tuple[int, int, int]:
    """prompt_tokens, completion_tokens and quota of the call's usage log."""
    await store.wait_drained()
    row = await store.scalar(
        "SELECT prompt_tokens || ',' || completion_tokens || ',' || quota FROM logs "
        "WHERE request_id = :r",
        r=request_id,
    )
    prompt, completion, charged = (int(v) for v in row.split(","))
    return prompt, completion, charged


def float32(values: list[float]) -> list[float]:
    """The values as a float32 vector holds them (what base64 carries)."""
    return list(struct.unpack(f"<{len(values)}f", struct.pack(f"<{len(values)}f", *values)))


# --- OpenAI client → Gemini channel ------------------------------------------------------------


async def gemini_channel(store: Store, upstream: MockUpstream, key: str) -> Scenario:
    models = (GEMINI_EMBEDDER,)
    return await store.scenario(upstream, channels=[{"key": key, "type": GEMINI}], models=models)


async def test_openai_embeddings_on_a_gemini_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "gemini-emb1"
    s = await gemini_channel(store, upstream, key)
    url = f"{upstream.url}/v1beta/models/{GEMINI_EMBEDDER}:batchEmbedContents"
    requests = [{"content": {"parts": [{"text": t}]}} for t in TEXTS]
    expected = await mock_post(url, {"requests": requests}, {"x-goog-api-key": key})
    vectors = [e["values"] for e in expected["embeddings"]]
    api = openai.AsyncOpenAI(base_url=relay.base_url, api_key=s.api_key, max_retries=0)
    async with api, group_ratio(store, s.group):
        reply = await api.embeddings.with_raw_response.create(
            model=GEMINI_EMBEDDER, input=TEXTS, dimensions=64, encoding_format="float"
        )
        floats = reply.parse()
        encoded = await api.embeddings.create(
            model=GEMINI_EMBEDDER, input=TEXTS, encoding_format="base64"
        )
        decoded = await api.embeddings.create(model=GEMINI_EMBEDDER, input=TEXTS)  # SDK's default
    assert [d.embedding for d in floats.data] == vectors
    assert [d.index for d in floats.data] == [0, 1] and floats.model == GEMINI_EMBEDDER
    as_base64 = [base64.b64decode(str(d.embedding)) for d in encoded.data]
    assert [list(struct.unpack("<8f", raw)) for raw in as_base64] == [float32(v) for v in vectors]
    assert [d.embedding for d in decoded.data] == [float32(v) for v in vectors]
    sent = (await upstream.calls(key))[-3]
    assert sent["path"] == f"/v1beta/models/{GEMINI_EMBEDDER}:batchEmbedContents"
    assert sent["headers"]["x-goog-api-key"] == key
    assert sent["body"] == {
        "requests": [
            {
                "model": f"models/{GEMINI_EMBEDDER}",
                "content": {"parts": [{"text": t}]},
                "outputDimensionality": 64,
            }
            for t in TEXTS
        ]
    }
    # Gemini reports no usage for embeddings: new-api counts the prompt locally (its
    # character estimate of "hello\nmore words" for a Gemini model: 1.15 per word and per
    # newline, 0.2 per space, rounded up: 5 tokens).
    usage = floats.usage
    assert usage.prompt_tokens == usage.total_tokens == 5
    prompt, completion, charged = await logged(store, reply.headers["X-Oneapi-Request-Id"])
    assert (prompt, completion, charged) == (5, 0, quota(5, "0.075"))
    balances = await store.balances(s)
    assert balances["token_held"] == 0 and balances["token_used"] == 3 * charged


async def test_a_mapped_model_goes_to_gemini_under_its_upstream_name(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "gemini-emb2"
    mapping = orjson.dumps({OPENAI_EMBEDDER: GEMINI_EMBEDDER}).decode()
    channels = [{"key": key, "type": GEMINI, "model_mapping": mapping}]
    s = await store.scenario(upstream, channels=channels, models=(OPENAI_EMBEDDER,))
    async with openai.AsyncOpenAI(base_url=relay.base_url, api_key=s.api_key, max_retries=0) as api:
        reply = await api.embeddings.create(model=OPENAI_EMBEDDER, input="one two three")
    assert len(reply.data) == 1 and len(reply.data[0].embedding) == 8
    assert reply.model == GEMINI_EMBEDDER  # new-api answers with the upstream model
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == f"/v1beta/models/{GEMINI_EMBEDDER}:batchEmbedContents"
    assert sent["body"]["requests"][0]["model"] == f"models/{GEMINI_EMBEDDER}"


async def test_a_bad_embeddings_request_is_refused_before_gemini(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "gemini-emb3"
    s = await gemini_channel(store, upstream, key)
    async with openai.AsyncOpenAI(base_url=relay.base_url, api_key=s.api_key, max_retries=0) as api:
        with pytest.raises(openai.BadRequestError) as caught:
            await api.embeddings.create(model=GEMINI_EMBEDDER, input=[[1, 2, 3]])
    assert caught.value.code == "convert_request_failed"
    assert await upstream.calls(key) == []
    balances = await store.balances(s)
    assert balances["token_held"] == 0 and balances["token_used"] == 0


# --- Gemini client → OpenAI channel (relay's superset) -----------------------------------------


async def test_gemini_embed_content_on_an_openai_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=E;pt=500"
    channels = [{"key": key, "type": OPENAI}]
    s = await store.scenario(upstream, channels=channels, models=(OPENAI_EMBEDDER,))
    auth = {"Authorization": f"Bearer {key}"}
    url = f"{upstream.url}/v1/embeddings"
    expected = await mock_post(url, {"model": OPENAI_EMBEDDER, "input": TEXTS}, auth)
    vectors = [d["embedding"] for d in expected["data"]]
    single = await mock_post(url, {"model": OPENAI_EMBEDDER, "input": "hello\nworld"}, auth)
    raw = {"content": {"parts": [{"text": "hello"}, {"text": "world"}]}}
    async with aiohttp.ClientSession() as session, group_ratio(store, s.group):
        options = types.HttpOptions(
            base_url=relay.url,
            api_version="v1beta",
            retry_options=types.HttpRetryOptions(attempts=1),
            aiohttp_client=session,
        )
        api = genai.Client(api_key=s.api_key, http_options=options)
        batch = await api.aio.models.embed_content(model=OPENAI_EMBEDDER, contents=TEXTS)
        one_url = f"{relay.url}/v1beta/models/{OPENAI_EMBEDDER}:embedContent"
        headers = {"x-goog-api-key": s.api_key}
        async with session.post(one_url, json=raw, headers=headers) as resp:
            assert resp.status == 200
            one = await resp.json()
            request_id = resp.headers["X-Oneapi-Request-Id"]
    assert batch.embeddings is not None
    assert [e.values for e in batch.embeddings] == vectors
    assert one == {"embedding": {"values": single["data"][0]["embedding"]}}
    batch_sent, one_sent = (await upstream.calls(key))[-2:]
    assert batch_sent["path"] == one_sent["path"] == "/v1/embeddings"
    assert batch_sent["headers"]["authorization"] == f"Bearer {key}"
    assert batch_sent["body"] == {"model": OPENAI_EMBEDDER, "input": TEXTS}
    assert one_sent["body"] == {"model": OPENAI_EMBEDDER, "input": "hello\nworld"}
    # An OpenAI upstream reports the usage: billed from it.
    assert await logged(store, request_id) == (500, 0, quota(500, "0.01"))
    balances = await store.balances(s)
    assert balances["token_held"] == 0 and balances["token_used"] == 2 * quota(500, "0.01")
