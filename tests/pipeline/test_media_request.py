from __future__ import annotations

import orjson
import pytest

from relay.billing.quote import make_quote
from relay.errors import RelayError
from relay.options import Options
from relay.pipeline.media_request import MediaRequest, image_price_ratio, read_media
from relay.providers.base import Endpoint, Usage

MP3 = b"\xff\xfb\x90\xc4" + bytes(413)
CT = "multipart/form-data; boundary=zz"


def count(model: str, text: str) -> int:
    return len(text.split())


def form(*parts: tuple[str, bytes, str | None]) -> bytes:
    out = b""
    for name, content, filename in parts:
        extra = f'; filename="{filename}"' if filename else ""
        out += f'--zz\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n'.encode()
        out += content + b"\r\n"
    return out + b"--zz--\r\n"


def read(
    endpoint: Endpoint, payload: object, content_type: str = "application/json"
) -> MediaRequest:
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return read_media(endpoint, content_type, raw, "en", count)


def refused(endpoint: Endpoint, payload: object, content_type: str = "application/json") -> str:
    with pytest.raises(RelayError) as caught:
        read(endpoint, payload, content_type)
    assert caught.value.status == 400 and caught.value.code == "invalid_request"
    return caught.value.text


@pytest.mark.parametrize(
    ("model", "size", "quality", "ratio"),
    [
        ("dall-e-2", "256x256", "", 0.4),
        ("dall-e-2", "512x512", "", 0.45),
        ("dall-e-3", "1024x1024", "standard", 1.0),
        ("dall-e-3", "1024x1024", "hd", 2.0),
        ("dall-e-3", "1792x1024", "standard", 2.0),
        ("dall-e-3", "1024x1792", "hd", 3.0),
        ("gpt-image-1", "1536x1024", "high", 1.0),
    ],
)
def test_image_price_ratio(model: str, size: str, quality: str, ratio: float) -> None:
    assert image_price_ratio(model, size, quality) == pytest.approx(ratio)


def test_image_generation_reads_n_and_defaults() -> None:
    media = read(Endpoint.IMAGES, {"model": "dall-e-3", "prompt": "a red fox", "n": 3})
    assert media.count == 3 and media.price_ratio == 1.0
    assert media.prompt_tokens == 3 and media.max_tokens == 1584
    assert media.form is None and not media.stream
    hd = read(Endpoint.IMAGES, {"model": "dall-e-3", "prompt": "x", "size": "1792x1024",
                                "quality": "hd"})  # fmt: skip
    assert hd.price_ratio == 3.0 and hd.count == 1


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"prompt": "x"}, "model is required"),
        ({"model": "dall-e-3", "size": "512x512"}, "size must be one of 1024x1024"),
        ({"model": "dall-e-2", "size": "1024x1792"}, "size must be one of 256x256"),
        ({"model": "dall-e-3", "size": "1024×1024"}, "multiplication sign"),
        ({"model": "dall-e-3", "n": 129}, "n must be an integer between 1 and 128"),
        ({"model": "dall-e-3", "n": -1}, "n must be an integer"),
        ([1, 2], "body must be a JSON object"),
    ],
)
def test_bad_image_requests(payload: object, error: str) -> None:
    assert error in refused(Endpoint.IMAGES, payload)


def test_image_edit_form() -> None:
    raw = form(("model", b"dall-e-2", None), ("n", b"2", None), ("size", b"512x512", None),
               ("image[]", b"png1", "a.png"), ("image[]", b"png2", "b.png"))  # fmt: skip
    media = read(Endpoint.IMAGE_EDITS, raw, CT)
    assert media.form is not None and media.content_type == CT
    assert media.count == 2 and media.price_ratio == 0.45
    assert media.payload["model"] == "dall-e-2"
    no_image = form(("model", b"gpt-image-1", None), ("prompt", b"x", None))
    assert "image is required" in refused(Endpoint.IMAGE_EDITS, no_image, CT)
    bad_n = form(("model", b"gpt-image-1", None), ("n", b"two", None), ("image", b"p", "a.png"))
    assert "n must be an integer" in refused(Endpoint.IMAGE_EDITS, bad_n, CT)


def test_transcription_counts_the_uploaded_duration() -> None:
    raw = form(("model", b"whisper-1", None), ("file", MP3 * 200, "talk.MP3"))
    media = read(Endpoint.TRANSCRIPTIONS, raw, CT)
    assert media.prompt_tokens == 100  # 5.2 s → 6 s
    assert media.payload["response_format"] == "json"
    unknown = form(("model", b"whisper-1", None), ("file", b"....", "a.webm"))
    assert read(Endpoint.TRANSLATIONS, unknown, CT).prompt_tokens == 0
    assert "file is required" in refused(Endpoint.TRANSCRIPTIONS, form(("model", b"w", None)), CT)
    assert "failed to parse multipart form" in refused(Endpoint.TRANSCRIPTIONS, b"{}", CT)


def test_speech_counts_characters_or_tokens_for_gpt_models() -> None:
    media = read(Endpoint.SPEECH, {"model": "tts-1", "input": "hello world", "voice": "alloy"})
    assert media.prompt_tokens == 11 and media.audio_format == "mp3"
    gpt = read(Endpoint.SPEECH, {"model": "gpt-4o-mini-tts", "input": "hello world",
                                 "response_format": "wav", "stream_format": "sse"})  # fmt: skip
    assert gpt.prompt_tokens == 2 and gpt.audio_format == "wav"
    assert gpt.stream
    assert "model is required" in refused(Endpoint.SPEECH, {"input": "x"})


def test_rerank_and_moderation() -> None:
    media = read(Endpoint.RERANK, {"model": "r", "query": "q w", "documents": ["a b", {"t": 1}]})
    assert media.prompt_tokens == 5  # the words of "a b\nmap[t:1]\nq w" (Go's %v)
    assert "query is empty" in refused(Endpoint.RERANK, {"model": "r", "documents": ["a"]})
    assert "documents is empty" in refused(Endpoint.RERANK, {"model": "r", "query": "q"})
    moderation = read(Endpoint.MODERATIONS, {"input": ["one two", "three"]})
    assert moderation.prompt_tokens == 3 + 3
    mixed = read(Endpoint.MODERATIONS, {"input": ["one two", {"type": "text", "text": "x y"}]})
    assert mixed.prompt_tokens == 2 + 3  # only string inputs count, as ParseInput reads them
    assert moderation.body is not None
    assert orjson.loads(moderation.body)["model"] == "text-moderation-stable"
    assert read(Endpoint.MODERATIONS, {"model": "m", "input": "x"}).body is None
    assert "field input is required" in refused(Endpoint.MODERATIONS, {"model": "m"})


def test_priced_images_hold_and_charge_per_image_with_the_size_factor() -> None:
    options = Options.from_rows({})
    quote = make_quote(options, "dall-e-3", "default", "default", 3, 1584, False, 3.0, 2)
    assert quote.use_price and quote.price == pytest.approx(0.12) and quote.count == 2
    assert quote.hold == 120_000  # 0.04 × 3 × 500000 × 2
    assert quote.charge(Usage(prompt_tokens=1)) == 120_000
    ratio = make_quote(options, "gpt-image-1", "default", "default", 10, 1584, False, 3.0, 2)
    assert not ratio.use_price and ratio.hold == int((500 + 1584) * 2.5)  # no image factor


def test_audio_charge() -> None:
    options = Options.from_rows({})
    quote = make_quote(options, "tts-1", "default", "default", 11, 0, False)
    assert quote.charge_audio(11, 50, 1.0, 0.0) == 83  # 11 × 7.5 = 82.5 → 83
    assert quote.charge_audio(11, 50, 1.0, 1.0) == round((11 + 50) * 7.5)
    priced = make_quote(options, "gpt-4o-mini-tts", "default", "default", 2, 0, False)
    assert priced.charge_audio(2, 50, 25.0, 1.0) == 150_000  # $0.3 per call
