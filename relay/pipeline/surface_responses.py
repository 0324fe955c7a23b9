"""The OpenAI Responses surface (/v1/responses).

Channels that serve Responses themselves get the client's bytes (see forward); the others get
the request as Chat, and their answer comes back as a Responses object or event stream.
Errors keep OpenAI's shape, as the Responses API does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from relay._fast.sse import SSEEvent
from relay.convert.claude_request import ConversionError
from relay.convert.responses_common import ResponsesConversionError
from relay.convert.responses_request import responses_to_chat_request
from relay.convert.responses_response import chat_to_responses_response
from relay.convert.responses_stream import ChatToResponsesStream, sse_frame
from relay.convert.text_stream import MARK, TextForm, cut_form, seq_mark
from relay.pipeline.call import Call
from relay.providers.base import Format, Usage


def openai_semantics(usage: Usage) -> Usage:
    """Usage whose input tokens include the cached ones, as OpenAI (and Responses) count them."""
    if not usage.anthropic:
        return usage
    prompt = usage.prompt_tokens + usage.cached_tokens + usage.cache_write_tokens
    return dataclasses.replace(usage, prompt_tokens=prompt, anthropic=False)


def responses_usage_of(usage: Usage, reasoning_tokens: int = 0) -> dict[str, Any]:
    """Billed usage as a Responses usage object."""
    u = openai_semantics(usage)
    return {
        "input_tokens": u.prompt_tokens,
        "input_tokens_details": {
            "cache_write_tokens": u.cache_write_tokens,
            "cached_tokens": u.cached_tokens,
        },
        "output_tokens": u.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": u.total_tokens,
    }


def _reasoning_tokens(pivot: dict[str, Any]) -> int:
    usage = pivot.get("usage")
    details = usage.get("completion_tokens_details") if isinstance(usage, dict) else None
    value = details.get("reasoning_tokens") if isinstance(details, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class ResponsesClientStream:
    """Pivot chunks as Responses events; the closing response.completed carries the usage."""

    wants_texts = True

    def __init__(self, response_id: str, created: int, model: str, request: dict[str, Any]) -> None:
        self._machine = ChatToResponsesStream(response_id, created, model, request)
        self._form: tuple[object, TextForm | None] = (None, None)  # the last form, by item

    def text_form(self, template: dict[str, Any] | None) -> TextForm | None:
        """How the next plain text delta is written, while it only continues the message."""
        item = self._machine.text_item()
        if item is None:
            return None
        if self._form[0] != item:
            event = self._machine.text_delta_event(MARK, seq_mark())
            self._form = (item, None if event is None else cut_form(sse_frame(event), 0))
        form = self._form[1]
        return None if form is None else TextForm(form.head, self._machine.seq, form.mid, form.tail)

    def took_texts(self, texts: list[str] | None) -> None:
        self._machine.took_texts(texts or [])

    def feed(self, chunk: dict[str, Any]) -> bytes:
        try:
            events = self._machine.feed(chunk)
        except ResponsesConversionError as exc:  # a garbled upstream chunk ends the stream
            events = self._machine.fail(str(exc))
        return b"".join(sse_frame(e) for e in events)

    def finish(self, usage: Usage) -> bytes:
        return b"".join(sse_frame(e) for e in self._machine.finish(openai_semantics(usage)))


class ResponsesSurface:
    format = Format.RESPONSES
    error_shape = "openai"
    done_frame = b""  # Responses streams end with response.completed, never [DONE]

    def frame(self, event: SSEEvent) -> bytes:
        head = b"event: " + event.event + b"\n" if event.event else b""
        return head + b"data: " + event.data + b"\n\n"

    def request_to_pivot(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return responses_to_chat_request(payload)
        except ResponsesConversionError as exc:
            raise ConversionError(str(exc)) from None

    def response_from_pivot(self, pivot: dict[str, Any], usage: Usage) -> dict[str, Any]:
        out = chat_to_responses_response(pivot)
        out["usage"] = responses_usage_of(usage, _reasoning_tokens(pivot))
        return out

    def stream_from_pivot(self, call: Call, created: int) -> ResponsesClientStream:
        # new-api names a Responses answer made from Chat after the request id.
        rid = f"chatcmpl-{call.request_id}"
        return ResponsesClientStream(rid, created, call.upstream_model, call.payload)
