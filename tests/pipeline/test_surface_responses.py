"""relay.pipeline.surface_responses: the Responses client format and the pivot."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import orjson
import pytest

from relay._fast.sse import SSEEvent
from relay.convert.claude_request import ConversionError
from relay.pipeline.call import Call
from relay.pipeline.surface import surface_for
from relay.pipeline.surface_responses import (
    ResponsesClientStream,
    ResponsesSurface,
    openai_semantics,
    responses_usage_of,
)
from relay.providers.base import Endpoint, Format, Usage

SURFACE = ResponsesSurface()


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-up",
        "object": "chat.completion.chunk",
        "created": 5,
        "model": "up",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def events(frames: bytes) -> list[dict[str, Any]]:
    out = []
    for frame in frames.split(b"\n\n"):
        if frame:
            name, data = frame.split(b"\n")
            event = orjson.loads(data.removeprefix(b"data: "))
            assert name == b"event: " + event["type"].encode()
            out.append(event)
    return out


def test_the_endpoint_picks_the_surface_and_its_shapes() -> None:
    assert isinstance(surface_for(Endpoint.RESPONSES), ResponsesSurface)
    assert SURFACE.format is Format.RESPONSES
    assert SURFACE.error_shape == "openai" and SURFACE.done_frame == b""


def test_passthrough_framing_keeps_event_names() -> None:
    named = SSEEvent(b'{"type":"response.created"}', b"response.created")
    assert SURFACE.frame(named) == b'event: response.created\ndata: {"type":"response.created"}\n\n'
    assert SURFACE.frame(SSEEvent(b"{}", b"")) == b"data: {}\n\n"


def test_request_to_pivot_and_its_refusals() -> None:
    pivot = SURFACE.request_to_pivot({"model": "m", "input": "hi", "instructions": "be brief"})
    assert pivot["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    with pytest.raises(ConversionError, match="previous_response_id"):
        SURFACE.request_to_pivot({"model": "m", "input": "hi", "previous_response_id": "r"})
    with pytest.raises(ConversionError):
        SURFACE.request_to_pivot({"model": "m", "input": 5})


def test_usage_is_written_in_openai_semantics() -> None:
    claude = Usage(prompt_tokens=10, completion_tokens=4, cached_tokens=6, cache_write_tokens=2)
    claude.anthropic = True
    assert openai_semantics(claude).prompt_tokens == 18
    assert not openai_semantics(claude).anthropic
    plain = Usage(prompt_tokens=3)
    assert openai_semantics(plain) is plain
    assert responses_usage_of(claude, reasoning_tokens=1) == {
        "input_tokens": 18,
        "input_tokens_details": {"cache_write_tokens": 2, "cached_tokens": 6},
        "output_tokens": 4,
        "output_tokens_details": {"reasoning_tokens": 1},
        "total_tokens": 22,
    }


def test_response_from_pivot_carries_the_billed_usage() -> None:
    pivot = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 7,
        "model": "up",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hello"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens_details": {"reasoning_tokens": 3}},
    }
    out = SURFACE.response_from_pivot(pivot, Usage(prompt_tokens=9, completion_tokens=5))
    assert out["object"] == "response" and out["status"] == "completed"
    assert out["output"][0]["content"][0]["text"] == "hello"
    assert out["usage"]["input_tokens"] == 9 and out["usage"]["total_tokens"] == 14
    assert out["usage"]["output_tokens_details"] == {"reasoning_tokens": 3}


def test_client_stream_writes_the_event_sequence_and_billed_usage() -> None:
    stream = ResponsesClientStream("chatcmpl-rid", 9, "up", {"model": "m", "input": "hi"})
    frames = stream.feed(chunk({"role": "assistant", "content": "He"}))
    frames += stream.feed(chunk({"content": "llo"}, "stop"))
    usage = Usage(prompt_tokens=4, completion_tokens=2, cached_tokens=1)
    usage.anthropic = True
    frames += stream.finish(usage)
    got = events(frames)
    assert [e["type"] for e in got] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in got] == list(range(len(got)))
    final = got[-1]["response"]
    assert final["id"] == "chatcmpl-rid" and final["model"] == "up"
    assert final["output"][0]["content"][0]["text"] == "Hello"
    assert final["usage"]["input_tokens"] == 5 and final["usage"]["output_tokens"] == 2


def test_a_garbled_chunk_fails_the_stream_once() -> None:
    stream = ResponsesClientStream("r", 1, "up", {})
    got = events(stream.feed({"choices": "nope"}))
    assert got[-1]["type"] == "response.failed"
    assert stream.feed(chunk({"content": "x"})) == b""
    assert stream.finish(Usage()) == b""


def test_stream_from_pivot_names_the_answer_after_the_request() -> None:
    call = cast(
        Call, SimpleNamespace(request_id="abc", upstream_model="up", payload={"model": "m"})
    )
    stream = SURFACE.stream_from_pivot(call, 3)
    first = events(stream.feed(chunk({"content": "x"})))[0]
    assert first["response"]["id"] == "chatcmpl-abc" and first["response"]["created_at"] == 3
