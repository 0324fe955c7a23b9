"""The Claude Messages surface (/v1/messages)."""

from __future__ import annotations

from typing import Any

import orjson

from relay._fast.sse import SSEEvent
from relay.convert.claude_request import claude_to_openai_request
from relay.convert.claude_response import openai_to_claude_response
from relay.convert.claude_stream import OpenAIToClaudeStream, text_delta_event
from relay.convert.text_stream import MARK, TextForm, cut_form
from relay.pipeline.call import Call
from relay.providers.base import Format, Usage


def claude_frames(events: list[dict[str, Any]]) -> bytes:
    """Claude SSE: each event named by its type."""
    return b"".join(
        b"event: " + str(e["type"]).encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n"
        for e in events
    )


class ClaudeClientStream:
    wants_texts = False

    def __init__(self, prompt_estimate: int) -> None:
        self._machine = OpenAIToClaudeStream(prompt_estimate)
        self._form: tuple[int, TextForm | None] = (-1, None)  # the last form, by block index

    def feed(self, chunk: dict[str, Any]) -> bytes:
        return claude_frames(self._machine.feed(chunk))

    def text_form(self, template: dict[str, Any] | None) -> TextForm | None:
        """How the next plain text delta is written, while it only continues a text block."""
        index = self._machine.text_block()
        if index is None:
            return None
        if self._form[0] != index:
            self._form = (index, cut_form(claude_frames([text_delta_event(index, MARK)])))
        return self._form[1]

    def took_texts(self, texts: list[str] | None) -> None:
        """Text deltas written by the form change nothing in the open block's state."""

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
