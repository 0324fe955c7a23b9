"""The media routes' answers: read the upstream's reply (audio bytes, transcripts, images,
rerank results, moderation objects), find its usage as new-api does, settle, answer.

Replies pass through as the upstream sent them, except rerank, which new-api re-encodes as
`{results, usage}`. A streamed image or speech reply (SSE) is read whole, then sent on.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from typing import Any

import orjson

from relay.billing.ratios import RatioBook
from relay.errors import RelayError, message
from relay.http.client import UpstreamError, UpstreamResponse
from relay.http.server import Reply
from relay.pipeline.audio_duration import audio_duration, duration_tokens
from relay.pipeline.call import Call
from relay.pipeline.media_request import (
    AUDIO_FORM_ENDPOINTS,
    IMAGE_ENDPOINTS,
    MAX_IMAGE_N,
    json_object,
)
from relay.pipeline.settle import settle
from relay.providers.base import Endpoint, Usage
from relay.providers.registry import ChannelType
from relay.routing import Channel
from relay.worker.context import WorkerContext

_IMAGE_DONE_EVENTS = (b"image_generation.completed", b"image_edit.completed")


def _bad_body(lang: str, error: str) -> RelayError:
    return RelayError(500, message("upstream_bad_body", lang, error=error), "bad_response_body")


def _json(body: bytes, lang: str) -> dict[str, Any]:
    fail = functools.partial(_bad_body, lang)
    return json_object(body, fail, "the response is not a JSON object")


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _sse_events(body: bytes) -> list[dict[str, Any]]:
    """The JSON objects of an SSE body's data lines."""
    events = []
    for line in body.split(b"\n"):
        if line.startswith(b"data:"):
            try:
                event = orjson.loads(line[5:].strip())
            except orjson.JSONDecodeError:
                continue
            if isinstance(event, dict):
                events.append(event)
    return events


def _speech(
    call: Call, body: bytes, audio_format: str, ratios: RatioBook
) -> tuple[Usage, int | None]:
    """OpenaiTTSHandler: the input count in; out, the audio's duration (1000 tokens a
    minute) or, when it cannot be read, a token per started kB; streams report usage."""
    prompt = call.prompt_estimate
    if call.stream:
        usage = Usage(prompt_tokens=prompt)
        for event in _sse_events(body):
            found = event.get("usage")
            if isinstance(found, dict) and _int(found.get("total_tokens")):
                usage = Usage(_int(found.get("input_tokens")), _int(found.get("output_tokens")))
        return usage, None
    seconds = audio_duration(body, audio_format)
    if seconds is None:
        audio = math.ceil(len(body) / 1000)
    else:
        audio = duration_tokens(seconds) if seconds > 0 else 0
    usage = Usage(prompt_tokens=prompt, completion_tokens=audio)
    if audio <= 0:
        return usage, None
    audio_ratio = ratios.audio_ratio_of(call.model)
    completion_ratio = ratios.audio_completion_ratio_of(call.model)
    return usage, call.quote.charge_audio(prompt, audio, audio_ratio, completion_ratio)


def _transcription(call: Call, body: bytes) -> Usage:
    """OpenaiSTTHandler: the upstream's usage when it reports tokens, else the prompt count
    (the upload's duration). When relay could not read that duration (a format it does not
    parse), the duration the upstream reports (whisper's usage.seconds) stands in."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    usage = data.get("usage") if isinstance(data, dict) else None
    if isinstance(usage, dict) and _int(usage.get("total_tokens")):
        prompt = _int(usage.get("prompt_tokens")) or _int(usage.get("input_tokens"))
        completion = _int(usage.get("completion_tokens")) or _int(usage.get("output_tokens"))
        return Usage(prompt_tokens=prompt, completion_tokens=completion)
    prompt = call.prompt_estimate
    if not prompt and isinstance(data, dict):
        seconds = usage.get("seconds") if isinstance(usage, dict) else data.get("duration")
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
            prompt = duration_tokens(float(seconds))
    return Usage(prompt_tokens=prompt)


def _image_usage(found: Any) -> Usage:
    """normalizeOpenAIUsage: the Images API's input/output tokens (or Chat's names)."""
    if not isinstance(found, dict):
        return Usage()
    prompt = _int(found.get("input_tokens")) or _int(found.get("prompt_tokens"))
    completion = _int(found.get("output_tokens")) or _int(found.get("completion_tokens"))
    details = found.get("input_tokens_details") or found.get("prompt_tokens_details")
    details = details if isinstance(details, dict) else {}
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=_int(details.get("cached_tokens")),
        image_tokens=_int(details.get("image_tokens")),
    )


def _image(call: Call, body: bytes, lang: str) -> Usage:
    """OpenaiImageHandler (and its stream twin): usage as reported, at least 1 prompt token;
    a priced model is billed per image returned."""
    if call.stream:
        usage, images = Usage(), 0
        for event in _sse_events(body):
            found = _image_usage(event.get("usage"))
            if found.total_tokens:
                usage = found
            images += str(event.get("type", "")).encode() in _IMAGE_DONE_EVENTS
    else:
        data = _json(body, lang)
        usage = _image_usage(data.get("usage"))
        images = len(data["data"]) if isinstance(data.get("data"), list) else 0
    if call.quote.use_price and 0 < images <= MAX_IMAGE_N:
        call.quote = dataclasses.replace(call.quote, count=images)
    if usage.prompt_tokens == 0:
        usage.prompt_tokens = 1
    return usage


def _usage_json(usage: Usage) -> dict[str, Any]:
    """new-api's dto.Usage as it encodes it (rerank answers carry it whole)."""
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {
            "cached_tokens": 0, "text_tokens": 0, "audio_tokens": 0, "image_tokens": 0
        },
        "completion_tokens_details": {
            "text_tokens": 0, "audio_tokens": 0, "image_tokens": 0, "reasoning_tokens": 0
        },
        "input_tokens": 0,
        "output_tokens": 0,
        "input_tokens_details": None,
        "claude_cache_creation_5_m_tokens": 0,
        "claude_cache_creation_1_h_tokens": 0,
    }  # fmt: skip


def _rerank(channel: Channel, body: bytes, lang: str) -> tuple[bytes, Usage]:
    """RerankHandler: Jina's `usage.total_tokens` as the prompt (SiliconFlow: `meta.tokens`);
    the answer re-encoded as {results, usage}."""
    data = _json(body, lang)
    raw = data.get("results")
    results = []
    for item in raw if isinstance(raw, list) else ():
        if not isinstance(item, dict):
            continue
        result: dict[str, Any] = {}
        if item.get("document") is not None:
            result["document"] = item["document"]
        result["index"] = item.get("index", 0)
        result["relevance_score"] = item.get("relevance_score", 0)
        results.append(result)
    if channel.type == ChannelType.SILICONFLOW:
        meta = data.get("meta")
        tokens = meta.get("tokens") if isinstance(meta, dict) else None
        tokens = tokens if isinstance(tokens, dict) else {}
        usage = Usage(_int(tokens.get("input_tokens")), _int(tokens.get("output_tokens")))
    else:
        found = data.get("usage")
        found = found if isinstance(found, dict) else {}
        usage = Usage(_int(found.get("total_tokens")), _int(found.get("completion_tokens")))
    return orjson.dumps({"results": results, "usage": _usage_json(usage)}), usage


def _moderation(call: Call, body: bytes, lang: str) -> Usage:
    """OpenaiHandler: the upstream's usage, else the prompt count (moderations have none)."""
    found = _json(body, lang).get("usage")
    if isinstance(found, dict) and _int(found.get("prompt_tokens")):
        return Usage(_int(found.get("prompt_tokens")), _int(found.get("completion_tokens")))
    return Usage(prompt_tokens=call.prompt_estimate)


async def respond_media(
    ctx: WorkerContext, call: Call, channel: Channel, upstream: UpstreamResponse, lang: str
) -> Reply:
    """Read a media call's 200 answer, settle it and return the client's reply."""
    media = call.media
    assert media is not None  # forward calls this only for media calls
    try:
        body = await upstream.read()
    except UpstreamError as exc:
        raise _bad_body(lang, str(exc)) from None
    call.first_token_at = time.time()
    content_type = upstream.headers.get("content-type", "application/json")
    quota = None
    if call.endpoint is Endpoint.SPEECH:
        usage, quota = _speech(call, body, media.audio_format, ctx.catalog.options.ratios)
    elif call.endpoint in AUDIO_FORM_ENDPOINTS:
        usage = _transcription(call, body)
    elif call.endpoint in IMAGE_ENDPOINTS:
        usage = _image(call, body, lang)
    elif call.endpoint is Endpoint.RERANK:
        body, usage = _rerank(channel, body, lang)
        content_type = "application/json"
    else:
        usage = _moderation(call, body, lang)
    settle(ctx, call, channel.id, usage, quota)
    return Reply(
        200, body, [("Content-Type", content_type), ("X-Oneapi-Request-Id", call.request_id)]
    )
