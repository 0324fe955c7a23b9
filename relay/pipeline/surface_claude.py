"""The Claude Messages surface (/v1/messages)."""

from __future__ import annotations

from typing import Any

import orjson

from relay._fast.sse import SSEEvent
from relay.convert.claude_request import claude_to_openai_request
from relay.convert.claude_response import openai_to_claude_response
from relay.convert.claude_stream import OpenAIToClaudeStream
from relay.pipeline.call import Call
from relay.providers.base import Format, Usage


def claude_frames(events: list[dict[str, Any]]) -> bytes:
    """Claude SSE: each event named by its type."""
    return b"".join(
        b"event: " + str(e["type"]).encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n"
        for e in events
    )


class ClaudeClientStream:
    def __init__(self, prompt_estimate: int) -> None:
        self._machine = OpenAIToClaudeStream(prompt_estimate)

    def feed(self, chunk: dict[str, Any]) -> bytes:
        return claude_frames(self._machine.feed(chunk))

    def finish(self, usage: Usage) -> bytes:
        return claude_frames(self._machine.finish(usage))


class ClaudeSurface:
    format = Format.CLAUDE
    error_shape = "claude"
    done_frame = b""  # Claude streams end with message_stop, never [DONE]

    def frame(self, event: SSEEvent) -> bytes:
        head = b"event: " + event.event + b"\n" if event.event else b""
        return head + b"data: " + event.data + b"\n\n"

    def request_to_pivot(self, payload: dict[str, Any]) -> dict[str, Any]:
        return claude_to_openai_request(payload)

    def response_from_pivot(self, pivot: dict[str, Any], usage: Usage) -> dict[str, Any]:
        return openai_to_claude_response(pivot, usage)

    def stream_from_pivot(self, call: Call, created: int) -> ClaudeClientStream:
        return ClaudeClientStream(call.prompt_estimate)
