"""bench/mock_wire/openai_media.py: the mock's media routes answer in OpenAI's wire format
(checked by the official openai SDK's parsers) and record multipart bodies field by field."""

from __future__ import annotations

import hashlib

import aiohttp
import openai
from relay_harness import MockUpstream

MP3_FRAME = b"\xff\xfb\x90\xc4" + bytes(413)


def sdk(upstream: MockUpstream, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=upstream.url + "/v1", api_key=key, max_retries=0)


async def test_images_and_their_recorded_form(upstream: MockUpstream) -> None:
    key = "mock;tag=MI"
    async with sdk(upstream, key) as api:
        generated = await api.images.generate(model="dall-e-3", prompt="fox", n=2)
        edited = await api.images.edit(
            model="gpt-image-1", image=("a.png", b"png-bytes", "image/png"), prompt="hat"
        )
    assert generated.data is not None and len(generated.data) == 2 and generated.usage is None
    assert generated.data[0].revised_prompt == "[MI] fox"
    assert edited.usage is not None and edited.usage.total_tokens == 292
    generation, edit = (await upstream.calls(key))[-2:]
    assert generation["body"] == {"model": "dall-e-3", "prompt": "fox", "n": 2}
    assert edit["path"] == "/v1/images/edits"
    assert edit["body"]["model"] == "gpt-image-1" and edit["body"]["prompt"] == "hat"
    assert edit["body"]["image"] == {
        "filename": "a.png",
        "content_type": "image/png",
        "size": 9,
        "sha256": hashlib.sha256(b"png-bytes").hexdigest(),
    }


async def test_audio_routes(upstream: MockUpstream) -> None:
    async with sdk(upstream, "mock;words=2") as api:
        speech = await api.audio.speech.create(model="tts-1", voice="alloy", input="hi")
        assert speech.content == MP3_FRAME * 77
        text = await api.audio.transcriptions.create(
            model="whisper-1", file=("a.mp3", MP3_FRAME), response_format="text"
        )
        assert text.strip() == "Hello from"
        verbose = await api.audio.transcriptions.create(
            model="whisper-1", file=("a.mp3", MP3_FRAME), response_format="verbose_json"
        )
        assert verbose.segments is not None and verbose.segments[0].text == "Hello from"
        vtt = await api.audio.transcriptions.create(
            model="whisper-1", file=("a.mp3", MP3_FRAME), response_format="vtt"
        )
        assert vtt.startswith("WEBVTT")


async def test_moderations_and_rerank(upstream: MockUpstream) -> None:
    async with sdk(upstream, "mock") as api:
        result = await api.moderations.create(model="omni-moderation-latest", input=["ok", "kill"])
    assert [r.flagged for r in result.results] == [False, True]
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            upstream.url + "/v1/rerank",
            json={"model": "r", "query": "q", "documents": ["a", "b c"], "top_n": 1},
            headers={"Authorization": "Bearer mock;pt=7"},
        ) as resp,
    ):
        body = await resp.json()
    assert body["results"] == [{"index": 0, "relevance_score": 0.9}]
    assert body["usage"] == {"total_tokens": 7}
    assert body["meta"] == {"tokens": {"input_tokens": 4, "output_tokens": 0}}
