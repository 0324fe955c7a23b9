"""End to end: the media and other OpenAI routes (images, audio, rerank, moderations) with the
openai SDK (aiohttp for rerank and raw forms) through `relay serve` to the mock's OpenAI media
routes: the answers, what the upstream received, the billed quota and the usage log; and the
501 routes."""

from __future__ import annotations

import asyncio
import hashlib
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import openai
import orjson
import pytest
from admin_client import root
from relay_harness import MockUpstream, RelayServer, Scenario, Store
from relay_http import refused, send
from sqlalchemy import text

from relay.billing.ratios import default_tables
from relay.tokenizer import Tokenizer

pytestmark = pytest.mark.integration

ANTHROPIC, SILICONFLOW = 14, 40
QPU = 500_000
RERANKER = "jina-reranker-v2-base-multilingual"
# One MPEG-1 Layer III frame (128 kbit/s, 44.1 kHz): 417 bytes, 1152 samples.
MP3_FRAME = b"\xff\xfb\x90\xc4" + bytes(413)
SPEECH_TOKENS = 50  # the mock's speech: 77 frames ≈ 2.01 s → ceil 3 s → 3 / 60 × 1000
PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)


def client(relay: RelayServer, api_key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=relay.base_url, api_key=api_key, max_retries=0)


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def scenario(
    store: Store, upstream: MockUpstream, key: str, *models: str, **channel: Any
) -> Scenario:
    return await store.scenario(upstream, channels=[{"key": key, **channel}], models=models)


async def priced(store: Store) -> None:
    """new-api's default ratios plus a reranker and a TTS model that bills its audio out."""
    ratios = {**default_tables()["ModelRatio"], RERANKER: 0.5, "tts-mock": 2}
    await store.option("ModelRatio", orjson.dumps(ratios).decode())
    await store.publish_routing()


async def last_log(store: Store, request_id: str) -> dict[str, Any]:
    await store.wait_drained()
    async with store.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT model_name, quota, prompt_tokens, completion_tokens, is_stream, "
                    "other FROM logs WHERE request_id = :rid"
                ),
                {"rid": request_id},
            )
        ).one()
    return dict(row._mapping)


def form(boundary: str, *parts: tuple[str, bytes, str | None]) -> bytes:
    """A multipart/form-data body of (name, content, filename or None) parts."""
    out = b""
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


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


# -- audio -----------------------------------------------------------------------------------


async def test_speech_returns_the_audio_and_bills_input_characters(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=TTS"
    s = await scenario(store, upstream, key, "tts-1")
    async with client(relay, s.api_key) as api:
        raw = await api.audio.speech.with_raw_response.create(
            model="tts-1", voice="alloy", input="hello world"
        )
        audio = raw.content
    assert raw.headers["content-type"] == "audio/mpeg"
    assert audio == MP3_FRAME * 77
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/v1/audio/speech"
    assert sent["body"] == {"model": "tts-1", "voice": "alloy", "input": "hello world"}
    # 11 characters in; tts-1's audio completion ratio is 0, so its audio is free: 11 × 7.5
    assert (await store.balances(s))["token_used"] == half_up(11 * Decimal("7.5")) == 83
    log = await last_log(store, raw.headers["X-Oneapi-Request-Id"])
    assert (log["prompt_tokens"], log["completion_tokens"]) == (11, SPEECH_TOKENS)


async def test_speech_bills_the_audio_duration_when_its_ratio_does(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    await priced(store)
    s = await scenario(store, upstream, "mock", "tts-mock")
    async with client(relay, s.api_key) as api:
        await api.audio.speech.create(model="tts-mock", voice="alloy", input="hello world")
    # (11 characters + 50 audio tokens × audio ratio 1 × audio completion ratio 1) × 2
    assert (await store.balances(s))["token_used"] == (11 + SPEECH_TOKENS) * 2


async def test_audio_ratios_set_by_put_option_reach_the_speech_charge(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    await priced(store)
    s = await scenario(store, upstream, "mock", "tts-mock")
    defaults = default_tables()
    tables = {
        "AudioRatio": {**defaults["AudioRatio"], "tts-mock": 3},
        "AudioCompletionRatio": {**defaults["AudioCompletionRatio"], "tts-mock": 0.5},
    }
    async with root(relay) as admin:
        bad = await admin.put("/api/option/", {"key": "AudioRatio", "value": '{"tts-mock": -1}'})
        assert not bad.ok and "must not be negative" in bad.body["message"]
        try:
            for key, table in tables.items():
                value = orjson.dumps(table).decode()
                assert (await admin.put("/api/option/", {"key": key, "value": value})).ok
            await asyncio.sleep(1.0)  # every worker reloads its options
            for _ in range(2):  # a fresh connection each: either worker may answer
                async with client(relay, s.api_key) as api:
                    await api.audio.speech.create(
                        model="tts-mock", voice="alloy", input="hello world"
                    )
        finally:
            for key in tables:
                value = orjson.dumps(dict(defaults[key])).decode()
                assert (await admin.put("/api/option/", {"key": key, "value": value})).ok
    # (11 characters + 50 audio tokens × audio ratio 3 × audio completion ratio 0.5) × 2
    assert (await store.balances(s))["token_used"] == 2 * (11 + 75) * 2 == 344


async def test_speech_as_wav_and_pcm_reads_their_duration(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    await priced(store)
    s = await scenario(store, upstream, "mock", "tts-mock")
    async with client(relay, s.api_key) as api:
        for fmt in ("wav", "pcm"):
            raw = await api.audio.speech.with_raw_response.create(
                model="tts-mock", voice="alloy", input="hi", response_format=fmt
            )
            assert len(raw.content) >= 48_000
    one_second = round(1 / 60 * 1000)  # 17 tokens
    assert (await store.balances(s))["token_used"] == 2 * (2 + one_second) * 2


async def test_speech_streamed_as_sse_bills_the_reported_usage(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;pt=4;ct=30"
    s = await scenario(store, upstream, key, "tts-1")
    body = {"model": "tts-1", "voice": "alloy", "input": "hello", "stream_format": "sse"}
    async with client(relay, s.api_key) as api:
        raw = await api.audio.speech.with_raw_response.create(**body)  # type: ignore[arg-type]
        events = (raw.content).decode()
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert events.count("speech.audio.delta") == 2 and "speech.audio.done" in events
    assert (await upstream.calls(key))[-1]["body"] == body  # no stream_options added
    assert (await store.balances(s))["token_used"] == half_up((4 + 30) * Decimal("7.5"))
    log = await last_log(store, raw.headers["X-Oneapi-Request-Id"])
    assert log["is_stream"] in (True, 1)


async def test_transcription_bills_the_uploaded_duration(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;tag=STT;words=3"
    s = await scenario(store, upstream, key, "whisper-1")
    audio = MP3_FRAME * 200  # 200 × 1152 / 44100 ≈ 5.22 s → 6 s → 100 tokens
    async with client(relay, s.api_key) as api:
        raw = await api.audio.transcriptions.with_raw_response.create(
            model="whisper-1", file=("talk.mp3", audio, "audio/mpeg"), language="en"
        )
    assert raw.parse().text == "[STT] Hello from the"
    sent = (await upstream.calls(key))[-1]
    assert sent["path"] == "/v1/audio/transcriptions"
    assert sent["body"]["model"] == "whisper-1" and sent["body"]["language"] == "en"
    assert sent["body"]["file"]["sha256"] == hashlib.sha256(audio).hexdigest()
    assert sent["body"]["file"]["filename"] == "talk.mp3"
    assert (await store.balances(s))["token_used"] == 100 * 15  # whisper-1: ratio 15
    log = await last_log(store, raw.headers["X-Oneapi-Request-Id"])
    assert (log["model_name"], log["prompt_tokens"], log["quota"]) == ("whisper-1", 100, 1500)


async def test_transcription_formats_and_reported_tokens(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;pt=40;ct=10;words=2"
    s = await scenario(store, upstream, key, "whisper-1")
    audio = MP3_FRAME * 40
    async with client(relay, s.api_key) as api:
        text = await api.audio.transcriptions.create(
            model="whisper-1", file=("a.mp3", audio), response_format="text"
        )
        assert text.strip() == "Hello from"
        srt = await api.audio.transcriptions.create(
            model="whisper-1", file=("a.mp3", audio), response_format="srt"
        )
        assert srt.startswith("1\n00:00:00,000 --> ")
        verbose = await api.audio.transcriptions.create(
            model="whisper-1", file=("a.mp3", audio), response_format="verbose_json"
        )
        assert verbose.duration == pytest.approx(3.2) and verbose.text == "Hello from"
    used = (await store.balances(s))["token_used"]
    # text and srt carry no usage: 40 frames ≈ 1.04 s → 2 s → 33 tokens each; the verbose
    # answer reports 40 in + 10 out (completion ratio 1): all at whisper-1's ratio 15
    assert used == 2 * 33 * 15 + (40 + 10) * 15


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the SDK's translations
async def test_translation_of_an_unreadable_format_uses_the_reported_seconds(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    key = "mock;words=2"
    s = await scenario(store, upstream, key, "whisper-1")
    async with client(relay, s.api_key) as api:
        result = await api.audio.translations.create(
            model="whisper-1", file=("clip.m4a", b"\x00\x00\x00\x18ftypM4A ")
        )
    assert result.text == "Hello from"
    assert (await upstream.calls(key))[-1]["path"] == "/v1/audio/translations"
    # whisper's usage {"type": "duration", "seconds": 3.2} → 4 s → 67 tokens × 15
    assert (await store.balances(s))["token_used"] == round(4 / 60 * 1000) * 15


async def test_transcription_without_a_file_is_a_400(
    relay: RelayServer, store: Store, upstream: MockUpstream
) -> None:
    s = await scenario(store, upstream, "mock", "whisper-1")
    data = form("xyz", ("model", b"whisper-1", None))
    reply = await send(
        relay,
        "/v1/audio/transcriptions",
        key=s.api_key,
        data=data,
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert refused(reply, 400, "invalid_request") == "Invalid request: file is required"
    reply = await send(
        relay,
        "/v1/audio/transcriptions",
        key=s.api_key,
        data=b"not a form",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert "failed to parse multipart form" in refused(reply, 400, "invalid_request")
    assert (await store.balances(s))["token_used"] == 0


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


def test_speech_tokens_match_new_apis_rule() -> None:
    """The mock's speech length and the expectation above agree (ceil of seconds / 60 × 1000)."""
    assert round(math.ceil(77 * 1152 / 44100) / 60 * 1000) == SPEECH_TOKENS
