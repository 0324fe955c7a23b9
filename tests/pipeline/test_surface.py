"""relay.pipeline.surface (+ surface_openai, surface_claude): client formats and the pivot."""

from __future__ import annotations

from typing import Any

import orjson

from relay._fast.sse import SSEEvent
from relay.pipeline.surface import SURFACES, surface_for
from relay.pipeline.surface_claude import ClaudeClientStream, ClaudeSurface
from relay.pipeline.surface_openai import DONE_FRAME, OpenAIClientStream, OpenAISurface
from relay.providers.base import Endpoint, Format, Usage

CHUNK: dict[str, Any] = {
    "id": "msg_1",
    "object": "chat.completion.chunk",
    "created": 3,
    "model": "c",
    "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}],
}


def test_every_format_has_a_surface_and_endpoints_pick_theirs() -> None:
    assert set(SURFACES) == set(Format)
    assert all(s.format is f for f, s in SURFACES.items())
    assert isinstance(surface_for(Endpoint.MESSAGES), ClaudeSurface)
    for endpoint in (Endpoint.CHAT, Endpoint.COMPLETIONS, Endpoint.EMBEDDINGS):
        assert isinstance(surface_for(endpoint), OpenAISurface)


def test_passthrough_framing() -> None:
    event = SSEEvent(b'{"type":"ping"}', b"ping")
    assert ClaudeSurface().frame(event) == b'event: ping\ndata: {"type":"ping"}\n\n'
    assert ClaudeSurface().done_frame == b""
    assert OpenAISurface().frame(event) == b'data: {"type":"ping"}\n\n'
    assert OpenAISurface().done_frame == DONE_FRAME


def test_openai_surface_is_the_identity_plus_billed_usage() -> None:
    surface = OpenAISurface()
    payload = {"model": "m", "messages": []}
    assert surface.request_to_pivot(payload) is payload
    usage = Usage(prompt_tokens=4, completion_tokens=1, cached_tokens=2, anthropic=True)
    out = surface.response_from_pivot({"id": "x", "usage": {"prompt_tokens": 0}}, usage)
    assert out["usage"]["prompt_tokens"] == 6 and out["usage"]["total_tokens"] == 7


def test_openai_client_stream_adds_usage_only_when_asked() -> None:
    asked = OpenAIClientStream(True, created=9)
    assert asked.feed(CHUNK) == b"data: " + orjson.dumps(CHUNK) + b"\n\n"
    tail = asked.finish(Usage(prompt_tokens=1, completion_tokens=2))
    first, done = tail.split(b"\n\n", 1)
    usage_chunk = orjson.loads(first.removeprefix(b"data: "))
    assert usage_chunk["choices"] == [] and usage_chunk["id"] == "msg_1"
    assert usage_chunk["usage"]["total_tokens"] == 3 and usage_chunk["created"] == 3
    assert done == DONE_FRAME
    assert OpenAIClientStream(False, created=9).finish(Usage()) == DONE_FRAME


def test_claude_client_stream_frames_named_events() -> None:
    stream = ClaudeClientStream(prompt_estimate=5)
    head = stream.feed(CHUNK).decode()
    names = [f.split("\n")[0] for f in head.split("\n\n") if f]
    assert names == [
        "event: message_start",
        "event: content_block_start",
        "event: content_block_delta",
    ]
    tail = stream.finish(Usage(prompt_tokens=5, completion_tokens=1)).decode()
    frames = [f for f in tail.split("\n\n") if f]
    assert [f.split("\n")[0] for f in frames] == [
        "event: content_block_stop",
        "event: message_delta",
        "event: message_stop",
    ]
    delta = orjson.loads(frames[1].split("\n")[1].removeprefix("data: "))
    assert delta["usage"]["output_tokens"] == 1 and delta["delta"]["stop_reason"] == "end_turn"


def test_claude_surface_converts_requests_and_responses() -> None:
    surface = ClaudeSurface()
    pivot = surface.request_to_pivot(
        {"model": "m", "max_tokens": 3, "messages": [{"role": "user", "content": "q"}]}
    )
    assert pivot == {"model": "m", "messages": [{"role": "user", "content": "q"}], "max_tokens": 3}
    body = {
        "id": "c1",
        "model": "m",
        "choices": [{"message": {"content": "a"}, "finish_reason": "stop"}],
    }
    out = surface.response_from_pivot(body, Usage(prompt_tokens=2, completion_tokens=1))
    assert out["type"] == "message" and out["content"] == [{"type": "text", "text": "a"}]
    assert out["usage"]["input_tokens"] == 2
