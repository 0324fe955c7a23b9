"""End to end: speech, transcriptions and translations with the openai SDK through `relay serve`
to the mock's OpenAI audio routes: the audio, what the upstream received (multipart forms), the
billed quota (characters, durations, AudioRatio tables) and the usage log."""

from __future__ import annotations

import asyncio
import hashlib
import math
from decimal import Decimal

import orjson
import pytest
from admin_client import root
from media_kit import (
    MP3_FRAME,
    SPEECH_TOKENS,
    client,
    form,
    half_up,
    last_log,
    priced,
    scenario,
)
from relay_harness import MockUpstream, RelayServer, Store
from relay_http import refused, send

from relay.billing.ratios import default_tables

pytestmark = pytest.mark.integration


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


def test_speech_tokens_match_new_apis_rule() -> None:
    """The mock's speech length and the expectation above agree (ceil of seconds / 60 × 1000)."""
    assert round(math.ceil(77 * 1152 / 44100) / 60 * 1000) == SPEECH_TOKENS
