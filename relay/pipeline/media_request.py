"""Reading the media routes' requests (images, audio, rerank, moderations) as new-api's
validators do: the fields relay needs, the prompt count and the image price factors.

Multipart bodies are only indexed (relay/pipeline/multipart.py); their bytes go upstream as
they came.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from relay.errors import RelayError, message
from relay.gofmt import go_value
from relay.pipeline import multipart
from relay.pipeline.audio_duration import audio_duration, duration_tokens
from relay.providers.base import Endpoint

IMAGE_ENDPOINTS = frozenset({Endpoint.IMAGES, Endpoint.IMAGE_EDITS, Endpoint.EDITS})
AUDIO_FORM_ENDPOINTS = frozenset({Endpoint.TRANSCRIPTIONS, Endpoint.TRANSLATIONS})
MEDIA_ENDPOINTS = (
    IMAGE_ENDPOINTS
    | AUDIO_FORM_ENDPOINTS
    | {
        Endpoint.SPEECH,
        Endpoint.RERANK,
        Endpoint.MODERATIONS,
    }
)
MAX_IMAGE_N = 128
IMAGE_MAX_TOKENS = 1584  # what new-api's image requests add to a ratio model's hold
MODERATION_MODEL = "text-moderation-stable"  # the distributor's default
_DALLE2_SIZES = ("256x256", "512x512", "1024x1024")
_DALLE3_SIZES = ("1024x1024", "1024x1792", "1792x1024")
_SIZE_RATIOS = {
    "256x256": 0.4,
    "512x512": 0.45,
    "1024x1024": 1.0,
    "1024x1792": 2.0,
    "1792x1024": 2.0,
}
_AUDIO_EXTENSIONS = {"mp3": "mp3", "mpga": "mp3", "mpeg": "mp3", "wav": "wav"}

CountTokens = Callable[[str, str], int]  # (model, text) → tokens


@dataclass(slots=True)
class MediaRequest:
    """A media route's request as relay reads it."""

    payload: dict[str, Any]  # the JSON body, or the form's text fields
    prompt_tokens: int  # new-api's prompt count: the hold's base and the fallback usage
    max_tokens: int = 0
    stream: bool = False
    price_ratio: float = 1.0  # dall-e size × quality, on a priced model's price
    count: int = 1  # images asked for: a priced model is billed per image
    form: multipart.Form | None = None  # the multipart body, when it is one
    content_type: str = "application/json"
    body: bytes | None = None  # a JSON body rewritten with its default model
    audio_format: str = ""  # speech: the response_format asked for (default mp3)


def _bad(lang: str, text: str) -> RelayError:
    return RelayError(400, message("invalid_request", lang, error=text), "invalid_request")


def json_object(body: bytes, fail: Callable[[str], RelayError], not_object: str) -> dict[str, Any]:
    """`body` parsed as a JSON object; else `fail` of the parse error or of `not_object`."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise fail(str(exc)) from None
    if not isinstance(data, dict):
        raise fail(not_object)
    return data


def _json(body: bytes, lang: str) -> dict[str, Any]:
    return json_object(body, functools.partial(_bad, lang), "body must be a JSON object")


def _model(payload: dict[str, Any], lang: str) -> str:
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise _bad(lang, "model is required")
    return model


def image_price_ratio(model: str, size: str, quality: str) -> float:
    """dall-e's size × quality factor on its per-image price (1 for other models)."""
    if not model.startswith("dall-e"):
        return 1.0
    ratio = _SIZE_RATIOS.get(size, 1.0)
    if model == "dall-e-3" and quality == "hd":
        ratio *= 1.5 if size in ("1024x1792", "1792x1024") else 2.0
    return ratio


def _image_n(value: Any, lang: str) -> int:
    if value is None:
        return 1
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return 1
        try:
            value = int(value)
        except ValueError:
            raise _bad(lang, f"n must be an integer between 1 and {MAX_IMAGE_N}") from None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_IMAGE_N:
        raise _bad(lang, f"n must be an integer between 1 and {MAX_IMAGE_N}")
    return value or 1


def _image_json(payload: dict[str, Any], lang: str) -> tuple[str, str]:
    """new-api's checks of a JSON image request; (size, quality) after its defaults."""
    model = _model(payload, lang)
    size, quality = payload.get("size") or "", payload.get("quality") or ""
    if not isinstance(size, str) or not isinstance(quality, str):
        raise _bad(lang, "size and quality must be strings")
    if "×" in size:
        raise _bad(lang, "size an unexpected error occurred in the parameter, please use 'x' "
                         "instead of the multiplication sign '×'")  # fmt: skip
    if model in ("dall-e-2", "dall-e"):
        if size and size not in _DALLE2_SIZES:
            raise _bad(lang, "size must be one of 256x256, 512x512, or 1024x1024 for "
                             "dall-e-2 or dall-e")  # fmt: skip
        size = size or "1024x1024"
    elif model == "dall-e-3":
        if size and size not in _DALLE3_SIZES:
            raise _bad(lang, "size must be one of 1024x1024, 1024x1792 or 1792x1024 for dall-e-3")
        size, quality = size or "1024x1024", quality or "standard"
    return size, quality


def _image(
    endpoint: Endpoint, content_type: str, body: bytes, lang: str, count: CountTokens
) -> MediaRequest:
    form = None
    if endpoint is Endpoint.IMAGE_EDITS and "multipart/form-data" in content_type:
        form = _form(content_type, body, lang)
        fields = _fields(form)
        model = fields.get("model", "")
        if (
            not form.files("image")
            and not form.files("image[]")
            and not any(p.name.startswith("image[") and p.filename is not None for p in form.parts)
        ):
            raise _bad(lang, "image is required")
        payload: dict[str, Any] = dict(fields)
        size, quality = fields.get("size", ""), fields.get("quality", "")
        stream = fields.get("stream", "").strip().lower() in ("1", "t", "true")
    else:
        payload = _json(body, lang)
        size, quality = _image_json(payload, lang)
        model, stream = payload["model"], payload.get("stream") is True
    prompt = payload.get("prompt")
    n = _image_n(payload.get("n"), lang)
    return MediaRequest(
        payload=payload,
        prompt_tokens=count(model, prompt) if isinstance(prompt, str) else 0,
        max_tokens=IMAGE_MAX_TOKENS,
        stream=stream,
        price_ratio=image_price_ratio(model, size, quality),
        count=n,
        form=form,
        content_type=content_type if form is not None else "application/json",
    )


def _form(content_type: str, body: bytes, lang: str) -> multipart.Form:
    try:
        return multipart.parse(content_type, body)
    except multipart.MultipartError as exc:
        raise _bad(lang, f"failed to parse multipart form: {exc}") from None


def _fields(form: multipart.Form) -> dict[str, str]:
    """The form's text fields (the first of each name)."""
    fields: dict[str, str] = {}
    for part in form.parts:
        if part.filename is None and part.name not in fields:
            fields[part.name] = form.content(part).decode("utf-8", "replace")
    return fields


def _transcription(content_type: str, body: bytes, lang: str) -> MediaRequest:
    form = _form(content_type, body, lang)
    fields = _fields(form)
    files = form.files("file")
    if not files:
        raise _bad(lang, "file is required")
    tokens = 0
    for part in files:
        ext = (part.filename or "").rpartition(".")[2].lower()
        seconds = audio_duration(form.content(part), _AUDIO_EXTENSIONS.get(ext, ext))
        tokens += duration_tokens(seconds) if seconds is not None else 0
    payload: dict[str, Any] = {**fields, "response_format": fields.get("response_format") or "json"}
    return MediaRequest(payload, tokens, form=form, content_type=content_type)


def _speech(body: bytes, lang: str, count: CountTokens) -> MediaRequest:
    payload = _json(body, lang)
    model = _model(payload, lang)
    value = payload.get("input")
    text = value if isinstance(value, str) else ""
    tokens = count(model, text) if "gpt" in model else len(text)
    audio_format = payload.get("response_format") or "mp3"
    return MediaRequest(
        payload,
        tokens,
        stream=payload.get("stream_format") == "sse",
        audio_format=audio_format if isinstance(audio_format, str) else "mp3",
    )


def _rerank(body: bytes, lang: str, count: CountTokens) -> MediaRequest:
    payload = _json(body, lang)
    query, documents = payload.get("query"), payload.get("documents")
    if not isinstance(query, str) or not query:
        raise _bad(lang, "query is empty")
    if not isinstance(documents, list) or not documents:
        raise _bad(lang, "documents is empty")
    model = payload.get("model")
    text = "\n".join([*map(go_value, documents), query])  # rerank.go: fmt %v of each
    return MediaRequest(payload, count(model, text) if isinstance(model, str) else 0)


def _moderation(body: bytes, lang: str, count: CountTokens) -> MediaRequest:
    payload = _json(body, lang)
    value = payload.get("input")
    if value is None or value == "":
        raise _bad(lang, "field input is required")
    rewritten = None
    if not payload.get("model"):
        payload = {**payload, "model": MODERATION_MODEL}
        rewritten = orjson.dumps(payload)
    model = str(payload["model"])
    inputs = value if isinstance(value, list) else [value]
    # GeneralOpenAIRequest.ParseInput: the string inputs, joined, counted once, + 3 (OpenAI).
    text = "\n".join(v for v in inputs if isinstance(v, str))
    return MediaRequest(payload, count(model, text) + 3, body=rewritten)


def read_media(
    endpoint: Endpoint, content_type: str, body: bytes, lang: str, count: CountTokens
) -> MediaRequest:
    """Validate a media route's body as new-api does; raises a 400 RelayError."""
    if endpoint in IMAGE_ENDPOINTS:
        return _image(endpoint, content_type, body, lang, count)
    if endpoint in AUDIO_FORM_ENDPOINTS:
        return _transcription(content_type, body, lang)
    if endpoint is Endpoint.SPEECH:
        return _speech(body, lang, count)
    if endpoint is Endpoint.RERANK:
        return _rerank(body, lang, count)
    return _moderation(body, lang, count)
