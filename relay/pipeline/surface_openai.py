"""The OpenAI surface: the pivot itself, so its conversions are identities."""

from __future__ import annotations

from typing import Any

import orjson

from relay._fast.sse import SSEEvent
from relay.convert.text_stream import MARK, TextForm, cut_form, with_text
from relay.pipeline.call import Call
from relay.providers.base import Format, Usage
from relay.providers.openai.convert import openai_usage_of

DONE_FRAME = b"data: [DONE]\n\n"


class OpenAIClientStream:
    """Pivot chunks as OpenAI SSE; a usage chunk at the end when the client asked for one."""

    wants_texts = False

    def __init__(self, wants_usage: bool, created: int) -> None:
        self._wants_usage = wants_usage
        self._head: dict[str, Any] = {"id": "", "created": created, "model": ""}
        # The last text form: the reader's template it was cut from, the form, its head.
        self._form: tuple[object, TextForm | None, dict[str, Any]] = (None, None, {})

    def feed(self, chunk: dict[str, Any]) -> bytes:
        self._head = self._head_of(chunk)
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    def _head_of(self, chunk: dict[str, Any]) -> dict[str, Any]:
        return {k: chunk.get(k, v) for k, v in self._head.items()}

    def text_form(self, template: dict[str, Any] | None) -> TextForm | None:
        """How a plain text chunk of the reader's `template` is written (it is the chunk)."""
        if template is None:
            return None
        if self._form[0] is not template:
            chunk = with_text(template, MARK)
            form = cut_form(b"data: " + orjson.dumps(chunk) + b"\n\n")
            if not self._head.keys() <= chunk.keys():  # the head would depend on earlier chunks
                form = None
            self._form = (template, form, self._head_of(chunk))
        return self._form[1]

    def took_texts(self, texts: list[str] | None) -> None:
        """Chunks written by the form: the head becomes theirs, as `feed` would make it."""
        self._head = self._form[2]

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
