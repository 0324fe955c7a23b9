"""relay.pipeline.surface_gemini: Gemini clients meeting the pivot."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from relay._fast.sse import SSEEvent
from relay.errors import RelayError
from relay.pipeline.surface import surface_for
from relay.pipeline.surface_gemini import GeminiClientStream, GeminiSurface, gemini_frames
from relay.providers.base import Endpoint, Format, Usage

SURFACE = GeminiSurface()
REQUEST: dict[str, Any] = {
    "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
    "systemInstruction": {"parts": [{"text": "be brief"}]},
    "generationConfig": {"maxOutputTokens": 20},
    "model": "gemini-x",  # added by the handler from the path
    "stream": True,
}


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "c1", "object": "chat.completion.chunk", "choices": [choice], **extra}


def events(frames: bytes) -> list[dict[str, Any]]:
    assert frames.endswith(b"\n\n") or not frames
    out = []
    for frame in frames.split(b"\n\n"):
        if frame:
            assert frame.startswith(b"data: ")
            out.append(orjson.loads(frame[6:]))
    return out


def test_the_gemini_endpoint_has_the_gemini_surface() -> None:
    assert surface_for(Endpoint.GEMINI) is not None
    assert surface_for(Endpoint.GEMINI).format is Format.GEMINI
    assert surface_for(Endpoint.GEMINI_EMBED).format is Format.GEMINI
    assert SURFACE.error_shape == "openai" and SURFACE.done_frame == b""
    assert SURFACE.frame(SSEEvent(b'{"a":1}', b"")) == b'data: {"a":1}\n\n'
    assert gemini_frames([{"a": 1}, {"b": 2}]) == b'data: {"a":1}\n\ndata: {"b":2}\n\n'


def test_request_to_pivot_takes_model_and_stream_from_the_hints() -> None:
    pivot = SURFACE.request_to_pivot(REQUEST)
    assert pivot["model"] == "gemini-x" and pivot["stream"] is True
    assert pivot["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert pivot["max_tokens"] == 20
    assert SURFACE.request_to_pivot({"contents": []})["stream"] is False


def test_a_bad_request_is_a_400_relay_error() -> None:
    with pytest.raises(RelayError) as info:
        SURFACE.request_to_pivot({"contents": "hi", "model": "m"})
    err = info.value
    assert (err.status, err.code, err.skip_retry) == (400, "convert_request_failed", True)
    assert "contents" in err.text


def test_response_from_pivot_carries_the_billed_usage() -> None:
    pivot = {
        "id": "c1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hey"},
                "finish_reason": "length",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1},
    }
    body = SURFACE.response_from_pivot(pivot, Usage(prompt_tokens=9, completion_tokens=4))
    candidate = body["candidates"][0]
    assert candidate["content"] == {"role": "model", "parts": [{"text": "hey"}]}
    assert candidate["finishReason"] == "MAX_TOKENS"
    meta = body["usageMetadata"]
    assert (meta["promptTokenCount"], meta["candidatesTokenCount"], meta["totalTokenCount"]) == (
        9,
        4,
        13,
    )


def test_client_stream_closes_with_the_billed_usage() -> None:
    stream = GeminiClientStream(prompt_estimate=3)
    first = events(stream.feed(chunk({"role": "assistant", "content": "Hel"})))
    assert first[0]["candidates"][0]["content"]["parts"] == [{"text": "Hel"}]
    assert events(stream.feed(chunk({}, "stop"))) == []  # waits for usage
    last = events(stream.finish(Usage(prompt_tokens=7, completion_tokens=2)))
    assert len(last) == 1
    assert last[0]["candidates"][0]["finishReason"] == "STOP"
    assert last[0]["usageMetadata"]["promptTokenCount"] == 7
    assert last[0]["usageMetadata"]["candidatesTokenCount"] == 2


def test_client_stream_sends_tool_calls_whole_with_upstream_usage() -> None:
    stream = GeminiClientStream(prompt_estimate=0)
    call = {"index": 0, "id": "t1", "function": {"name": "get_weather", "arguments": '{"ci'}}
    rest = {"index": 0, "function": {"arguments": 'ty":"Paris"}'}}
    assert events(stream.feed(chunk({"tool_calls": [call]}))) == []
    assert events(stream.feed(chunk({"tool_calls": [rest]}, "tool_calls"))) == []
    usage_chunk = {"id": "c1", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3}}
    done = events(stream.feed(usage_chunk))
    parts = done[0]["candidates"][0]["content"]["parts"]
    assert parts == [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]
    assert done[0]["candidates"][0]["finishReason"] == "STOP"
    assert done[0]["usageMetadata"]["candidatesTokenCount"] == 3
    assert stream.finish(Usage(prompt_tokens=5, completion_tokens=3)) == b""
