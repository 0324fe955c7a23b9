"""The Gemini surface (/v1beta/models/{model}:generateContent and :streamGenerateContent).

Gemini names the model and whether to stream in the path, not the body: the handler adds
both to the call's payload as `model` and `stream` so the pivot request can carry them (the
Gemini provider drops them again from a body it re-encodes).
"""

from __future__ import annotations

from typing import Any

import orjson

from relay._fast.sse import SSEEvent
from relay.convert.gemini_common import GeminiConversionError
from relay.convert.gemini_reverse import gemini_to_openai_request, openai_to_gemini_response
from relay.convert.gemini_reverse_stream import OpenAIToGeminiStream
from relay.convert.text_stream import MARK, TextForm, cut_form
from relay.errors import RelayError, message
from relay.pipeline.call import Call
from relay.providers.base import Format, Usage
from relay.providers.openai.convert import openai_usage_of


def gemini_frames(events: list[dict[str, Any]]) -> bytes:
    """Gemini SSE (`alt=sse`): data lines only, no event names and no [DONE]."""
    return b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events)


class GeminiClientStream:
    wants_texts = False

    def __init__(self, prompt_estimate: int) -> None:
        self._machine = OpenAIToGeminiStream(prompt_estimate=prompt_estimate)
        self._form: TextForm | None = None  # the same for the whole stream once cut

    def feed(self, chunk: dict[str, Any]) -> bytes:
        return gemini_frames(self._machine.feed(chunk))

    def text_form(self, template: dict[str, Any] | None) -> TextForm | None:
        """How the next plain text chunk is written: one text event."""
        event = self._machine.text_event(MARK)
        if event is None:
            return None
        if self._form is None:
            self._form = cut_form(gemini_frames([event]))
        return self._form

    def took_texts(self, texts: list[str] | None) -> None:
        """Text events change nothing in the machine's state."""

    def finish(self, usage: Usage) -> bytes:
        # The billed usage as a last usage chunk: it releases a finish event still waiting
        # for one (an upstream that sent none), and is ignored when usage came already.
        closing = self._machine.feed({"choices": [], "usage": openai_usage_of(usage)})
        return gemini_frames(closing + self._machine.finish())


class GeminiSurface:
    format = Format.GEMINI
    error_shape = "openai"  # new-api answers its Gemini routes in the OpenAI shape
    done_frame = b""  # Gemini streams just end

    def frame(self, event: SSEEvent) -> bytes:
        return b"data: " + event.data + b"\n\n"

    def request_to_pivot(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Raises RelayError (400) for a request that is not a valid Gemini request."""
        model = payload.get("model")
        model = model if isinstance(model, str) else ""
        try:
            return gemini_to_openai_request(
                payload, model=model, stream=payload.get("stream") is True
            )
        except GeminiConversionError as exc:
            text = message("invalid_request", error=str(exc))
            raise RelayError(400, text, "convert_request_failed", skip_retry=True) from None

    def response_from_pivot(self, pivot: dict[str, Any], usage: Usage) -> dict[str, Any]:
        return openai_to_gemini_response({**pivot, "usage": openai_usage_of(usage)})

    def stream_from_pivot(self, call: Call, created: int) -> GeminiClientStream:
        return GeminiClientStream(call.prompt_estimate)
