"""End to end: images, rerank and moderations with the openai SDK (aiohttp for rerank and raw
forms) through `relay serve` to the mock's OpenAI media routes: the answers, what the upstream
received, the billed quota and the usage log; and the 501 routes. (Audio: test_audio_e2e.py.)"""

from __future__ import annotations

import hashlib
from decimal import Decimal

import openai
import orjson
import pytest
from media_kit import (
    ANTHROPIC,
    PNG,
    QPU,
    RERANKER,
    SILICONFLOW,
    client,
    form,
    half_up,
    last_log,
    priced,
    scenario,
)
from relay_harness import MockUpstream, RelayServer, Store
from relay_http import refused, send

from relay.tokenizer import Tokenizer

pytestmark = pytest.mark.integration


# -- images ----------------------------------------------------------------------------------


async def test_image_generation_is_billed_per_image_with_size_and_quality(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=IMG"
    s = await scenario(store, upstream, key, "dall-e-3")
    async with client(relay, s.api_key) as api:
        raw = await api.images.with_raw_response.generate(
            model="dall-e-3", prompt="a red fox", n=2, size="1792x1024", quality="hd"
        )
    images = raw.parse()
    assert images.data is not None and len(images.data) == 2
    assert images.data[0].b64_json and images.data[0].revised_prompt == "[IMG] a red fox"
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/v1/images/generations"
    assert sent["body"] == {
        "model": "dall-e-3",
        "prompt": "a red fox",
        "n": 2,
        "size": "1792x1024",
        "quality": "hd",
    }
    # dall-e-3 costs $0.04 an image; 1792 sizes ×2, hd at 1792 ×1.5; two images
    expected = half_up(Decimal("0.04") * 2 * Decimal("1.5") * QPU * 2)
    assert expected == 120_000
    assert (await store.balances(s))["token_used"] == expected
    log = await last_log(store, raw.headers["X-Oneapi-Request-Id"])
    assert log["model_name"] == "dall-e-3" and log["quota"] == expected
    assert log["is_stream"] in (False, 0)
    assert orjson.loads(log["other"])["model_price"] == pytest.approx(0.12)


async def test_image_generation_as_urls_bills_the_images_returned(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await scenario(store, upstream, "mock", "dall-e-3")
    async with client(relay, s.api_key) as api:
        images = await api.images.generate(model="dall-e-3", prompt="a fox", response_format="url")
    assert images.data is not None and images.data[0].url
    assert images.data[0].url.endswith("/_mock/image.png")
    assert (await store.balances(s))["token_used"] == 20_000  # one 1024² standard image


async def test_streamed_image_generation_is_relayed_and_billed_by_its_usage(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;pt=30;ct=100"
    s = await scenario(store, upstream, key, "gpt-image-1")
    async with client(relay, s.api_key) as api:
        stream = await api.images.generate(model="gpt-image-1", prompt="a fox", stream=True, n=2)
        events = [event async for event in stream]
    assert [e.type for e in events] == ["image_generation.completed"] * 2
    sent = (await upstream.calls(key))[-1]
    assert sent["stream"] is True and "stream_options" not in sent["body"]
    # gpt-image-1: (30 + 100 × 8) × 2.5
    assert (await store.balances(s))["token_used"] == half_up((30 + Decimal(800)) * Decimal("2.5"))


async def test_image_edit_passes_the_form_through_and_bills_tokens(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;pt=20;ct=272"
    s = await scenario(store, upstream, key, "gpt-image-1")
    mask = PNG + b"mask"
    async with client(relay, s.api_key) as api:
        raw = await api.images.with_raw_response.edit(
            model="gpt-image-1",
            image=[("cat.png", PNG, "image/png"), ("dog.png", PNG + b"2", "image/png")],
            mask=("mask.png", mask, "image/png"),
            prompt="add a hat",
            size="1024x1024",
        )
    images = raw.parse()
    assert images.data is not None and images.data[0].b64_json
    assert images.usage is not None and images.usage.output_tokens == 272
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/v1/images/edits"
    assert sent["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    body = sent["body"]
    assert body["model"] == "gpt-image-1" and body["prompt"] == "add a hat"
    assert [f["sha256"] for f in body["image[]"]] == [
        hashlib.sha256(PNG).hexdigest(),
        hashlib.sha256(PNG + b"2").hexdigest(),
    ]
    assert body["mask"]["sha256"] == hashlib.sha256(mask).hexdigest()
    # gpt-image-1: ratio 2.5, completion ratio 8: (20 + 272 × 8) × 2.5
    expected = half_up((20 + Decimal(272) * 8) * Decimal("2.5"))
    assert (await store.balances(s))["token_used"] == expected == 5490
    log = await last_log(store, raw.headers["X-Oneapi-Request-Id"])
    assert (log["prompt_tokens"], log["completion_tokens"]) == (20, 272)


async def test_image_edit_with_a_mapped_model_replaces_only_the_model_field(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=MAP"
    mapping = orjson.dumps({"gpt-image-1": "gpt-image-1-mini"}).decode()
    s = await scenario(store, upstream, key, "gpt-image-1", model_mapping=mapping)
    async with client(relay, s.api_key) as api:
        await api.images.edit(
            model="gpt-image-1", image=("cat.png", PNG, "image/png"), prompt="a hat", n=1
        )
    body = (await upstream.calls(key))[-1]["body"]
    assert body["model"] == "gpt-image-1-mini" and body["prompt"] == "a hat"
    assert body["image"]["sha256"] == hashlib.sha256(PNG).hexdigest()


async def test_image_edit_without_an_image_is_a_400(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await scenario(store, upstream, "mock", "gpt-image-1")
    data = form("b0undary", ("model", b"gpt-image-1", None), ("prompt", b"a hat", None))
    reply = await send(
        relay,
        "/v1/images/edits",
        key=s.api_key,
        data=data,
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    text = refused(reply, 400, "invalid_request")
    assert text == "Invalid request: image is required"
    assert (await store.balances(s))["token_used"] == 0


async def test_bad_image_size_and_n_are_400s(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await scenario(store, upstream, "mock", "dall-e-3")
    body = {"model": "dall-e-3", "prompt": "x", "size": "512x512"}
    reply = await send(relay, "/v1/images/generations", key=s.api_key, body=body)
    assert refused(reply, 400, "invalid_request").endswith(
        "size must be one of 1024x1024, 1024x1792 or 1792x1024 for dall-e-3"
    )
    body = {"model": "dall-e-3", "prompt": "x", "n": 129}
    reply = await send(relay, "/v1/images/generations", key=s.api_key, body=body)
    assert "n must be an integer between 1 and 128" in refused(reply, 400, "invalid_request")


async def test_images_of_an_unknown_model_find_no_channel(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await scenario(store, upstream, "mock", "dall-e-3")
    async with client(relay, s.api_key) as api:
        with pytest.raises(openai.APIStatusError) as caught:
            await api.images.generate(model="dall-e-9", prompt="x")
    assert caught.value.status_code == 503
    assert caught.value.code == "model_not_found"


async def test_a_channel_that_cannot_make_images_passes_the_call_on(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    channels = [
        {"key": "mock;tag=CLAUDE", "type": ANTHROPIC, "priority": 10},
        {"key": "mock;tag=OAI", "priority": 0},
    ]
    s = await store.scenario(upstream, channels=channels, models=("dall-e-3",))
    async with client(relay, s.api_key) as api:
        with pytest.raises(openai.InternalServerError) as caught:
            await api.images.generate(model="dall-e-3", prompt="a fox")
        assert caught.value.code == "channel:type_unsupported"  # no retries by default
        await store.option("RetryTimes", "1")
        await store.publish_routing()
        try:
            images = await api.images.generate(model="dall-e-3", prompt="a fox")
        finally:
            await store.option("RetryTimes", "0")
            await store.publish_routing()
    assert images.data is not None and len(images.data) == 1
    assert await upstream.calls("mock;tag=CLAUDE") == []
    assert (await upstream.calls("mock;tag=OAI"))[-1]["path"] == "/v1/images/generations"


# -- rerank and moderations ------------------------------------------------------------------


async def test_rerank_answers_results_and_usage_and_bills_total_tokens(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    await priced(store)
    key = "mock;pt=120"
    s = await scenario(store, upstream, key, RERANKER)
    body = {
        "model": RERANKER,
        "query": "capital of France",
        "documents": ["Paris is the capital", "Berlin is in Germany", "Lyon"],
        "top_n": 2,
        "return_documents": True,
    }
    reply = await send(relay, "/v1/rerank", key=s.api_key, body=body)
    assert reply.status == 200, reply.body
    assert reply.body["results"] == [
        {"document": {"text": "Paris is the capital"}, "index": 0, "relevance_score": 0.9},
        {"document": {"text": "Berlin is in Germany"}, "index": 1, "relevance_score": 0.45},
    ]
    usage = reply.body["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
        120,
        0,
        120,
    )
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/v1/rerank" and sent["body"] == body
    assert (await store.balances(s))["token_used"] == 60  # 120 × 0.5


async def test_rerank_on_siliconflow_bills_its_meta_tokens(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    await priced(store)
    s = await scenario(store, upstream, "mock;pt=120", RERANKER, type=SILICONFLOW)
    body = {"model": RERANKER, "query": "capital of France", "documents": ["Paris", "Rome"]}
    reply = await send(relay, "/v1/rerank", key=s.api_key, body=body)
    assert reply.status == 200, reply.body
    assert [r["index"] for r in reply.body["results"]] == [0, 1]
    assert "document" not in reply.body["results"][0]
    assert reply.body["usage"]["prompt_tokens"] == 5  # meta.tokens: the mock's word count
    assert (await store.balances(s))["token_used"] == 3  # 5 × 0.5 = 2.5 → 3


async def test_rerank_needs_a_query_and_documents(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    await priced(store)
    s = await scenario(store, upstream, "mock", RERANKER)
    reply = await send(
        relay, "/v1/rerank", key=s.api_key, body={"model": RERANKER, "query": "q", "documents": []}
    )
    assert refused(reply, 400, "invalid_request") == "Invalid request: documents is empty"
    reply = await send(relay, "/v1/rerank", key=s.api_key, body={"query": "q", "documents": ["d"]})
    assert reply.status == 400 and reply.body["error"]["message"].startswith(
        "Model name not specified"
    )


async def test_moderations_default_model_and_prompt_billing(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=MOD"
    s = await scenario(store, upstream, key, "text-moderation-stable")
    said = "I will kill the process today"
    async with client(relay, s.api_key) as api:
        raw = await api.moderations.with_raw_response.create(input=said)  # type: ignore[call-arg]
    moderation = raw.parse()
    assert moderation.results[0].flagged is True
    assert moderation.results[0].categories.violence is True
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/v1/moderations"
    assert sent["body"] == {"input": said, "model": "text-moderation-stable"}
    tokens = Tokenizer().count("text-moderation-stable", said) + 3
    expected = max(half_up(tokens * Decimal("0.1")), 1)
    assert (await store.balances(s))["token_used"] == expected
    log = await last_log(store, raw.headers["X-Oneapi-Request-Id"])
    assert log["model_name"] == "text-moderation-stable" and log["prompt_tokens"] == tokens


# -- routes new-api does not implement ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/images/variations"),
        ("POST", "/v1/files"),
        ("DELETE", "/v1/files/file-1"),
        ("GET", "/v1/files/file-1/content"),
        ("GET", "/v1/fine-tunes"),
        ("GET", "/v1/fine-tunes/ft-1"),
        ("POST", "/v1/fine-tunes/ft-1/cancel"),
        ("GET", "/v1/fine-tunes/ft-1/events"),
    ],
)
async def test_routes_new_api_leaves_out_are_501_behind_token_auth(
    relay: RelayServer, store: Store, upstream: MockUpstream, method: str, path: str
) -> None:
    s = await scenario(store, upstream, "mock", "gpt-4o-mini")
    reply = await send(relay, path, method=method, key=s.api_key)
    assert reply.status == 501
    assert reply.body["error"]["code"] == "api_not_implemented"
    assert refused(await send(relay, path, method=method), 401) == "Invalid token"


async def test_paths_around_the_501_routes_are_404s(relay: RelayServer) -> None:
    for method, path in (("PUT", "/v1/files"), ("GET", "/v1/files/a/b"), ("GET", "/v1/edits")):
        reply = await send(relay, path, method=method)
        assert reply.status == 404, (method, path)
