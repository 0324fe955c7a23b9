"""The OpenAI surface: the pivot itself, so its conversions are identities."""

from __future__ import annotations

from typing import Any

import orjson

from relay._fast.sse import SSEEvent
from relay.pipeline.call import Call
from relay.providers.base import Format, Usage
from relay.providers.openai.convert import openai_usage_of

DONE_FRAME = b"data: [DONE]\n\n"


class OpenAIClientStream:
    """Pivot chunks as OpenAI SSE; a usage chunk at the end when the client asked for one."""

    def __init__(self, wants_usage: bool, created: int) -> None:
        self._wants_usage = wants_usage
        self._head: dict[str, Any] = {"id": "", "created": created, "model": ""}

    def feed(self, chunk: dict[str, Any]) -> bytes:
        self._head = {k: chunk.get(k, v) for k, v in self._head.items()}
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    def finish(self, usage: Usage) -> bytes:
        if not self._wants_usage:
            return DONE_FRAME
        chunk = {
            "id": self._head["id"],
            "object": "chat.completion.chunk",
            "created": self._head["created"],
            "model": self._head["model"],
            "choices": [],
            "usage": openai_usage_of(usage),
        }
        return b"data: " + orjson.dumps(chunk) + b"\n\n" + DONE_FRAME


class OpenAISurface:
    format = Format.OPENAI
    error_shape = "openai"
    done_frame = DONE_FRAME

    def frame(self, event: SSEEvent) -> bytes:
        return b"data: " + event.data + b"\n\n"  # new-api relays only the data lines

    def request_to_pivot(self, payload: dict[str, Any]) -> dict[str, Any]:
        return payload

    def response_from_pivot(self, pivot: dict[str, Any], usage: Usage) -> dict[str, Any]:
        return {**pivot, "usage": openai_usage_of(usage)}

    def stream_from_pivot(self, call: Call, created: int) -> OpenAIClientStream:
        return OpenAIClientStream(call.client_wants_usage, created)
