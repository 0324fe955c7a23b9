"""The Gemini provider: POST {base}/{ver}/models/{model}:generateContent with x-goog-api-key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from relay.convert.claude_request import ConversionError
from relay.convert.gemini_common import GeminiConversionError, GeminiOptions
from relay.convert.gemini_request import openai_to_gemini_request
from relay.convert.gemini_response import GeminiEmptyResponse, gemini_to_openai_response
from relay.convert.reasoning import gemini_upstream_model
from relay.errors import RelayError, message
from relay.providers.base import (
    Endpoint,
    Format,
    PivotStream,
    StreamObserver,
    UpstreamCall,
    UpstreamRequest,
    Usage,
    overridden_headers,
)
from relay.providers.gemini.convert import (
    GeminiPivotStream,
    GeminiStreamObserver,
    model_version,
    pivot_id,
    response_texts,
    usage_of,
)
from relay.routing import Channel

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
# Keys the Gemini surface adds to a client's payload for the pivot; never sent to Gemini.
PIVOT_HINTS = ("model", "stream")


class Gemini:
    """Stateless and shared by all requests; `options` are new-api's gemini.* settings."""

    native = Format.GEMINI

    def __init__(self, options: GeminiOptions | None = None) -> None:
        self.options = options or GeminiOptions()

    def build_request(self, channel: Channel, key: str, call: UpstreamCall) -> UpstreamRequest:
        """Raises ConversionError for a pivot request Gemini cannot take."""
        base = (channel.base_url or DEFAULT_BASE_URL).rstrip("/")
        adapter = self.options.thinking_adapter
        model = gemini_upstream_model(
            call.upstream_model, adapter_enabled=adapter, preserve_suffix=False
        )
        if call.endpoint is Endpoint.GEMINI_EMBED:
            action = "batchEmbedContents" if "requests" in call.payload else "embedContent"
        elif call.stream:
            # new-api always streams over SSE upstream, whatever `alt` the client asked for.
            action = "streamGenerateContent?alt=sse"
        else:
            action = "generateContent"
        headers = {"x-goog-api-key": key, "Content-Type": "application/json"}
        headers.update(overridden_headers(channel, key))
        url = f"{base}/{self.options.api_version(model)}/models/{model}:{action}"
        return UpstreamRequest(url, self._body(channel, call), headers)

    def _body(self, channel: Channel, call: UpstreamCall) -> bytes:
        if call.pass_through:
            return call.body
        if call.format is Format.GEMINI:
            if not channel.param_override and not call.edited:
                return call.body  # the model is in the URL: a mapped model changes no byte
            hints = PIVOT_HINTS if call.endpoint is Endpoint.GEMINI else ()
            payload = {k: v for k, v in call.payload.items() if k not in hints}
        else:
            try:
                payload = openai_to_gemini_request(
                    call.payload, model=call.upstream_model, options=self.options
                )
            except GeminiConversionError as exc:
                raise ConversionError(str(exc)) from None
        payload.update(channel.param_override)
        return orjson.dumps(payload)

    def injects_usage(self) -> bool:
        return False  # Gemini streams always carry usageMetadata

    def parse_usage(self, endpoint: Endpoint, body: dict[str, Any]) -> Usage | None:
        return usage_of(body)

    def response_text(self, endpoint: Endpoint, body: dict[str, Any]) -> list[str]:
        texts: list[str] = []
        response_texts(body, texts)
        return texts

    def stream_observer(
        self, endpoint: Endpoint, drop_usage_chunk: bool, text_sink: Callable[[str], None]
    ) -> StreamObserver:
        return GeminiStreamObserver(text_sink)

    def response_to_pivot(self, body: dict[str, Any], created: int) -> dict[str, Any]:
        """Raises RelayError for a response with no candidates (blocked or empty)."""
        try:
            pivot, _ = gemini_to_openai_response(
                body, response_id=pivot_id(body), created=created, model=model_version(body)
            )
        except GeminiEmptyResponse as exc:
            raise RelayError(exc.status, str(exc), exc.code, skip_retry=True) from None
        except GeminiConversionError as exc:
            text = message("upstream_bad_body", error=str(exc))
            raise RelayError(500, text, "bad_response_body", skip_retry=True) from None
        return pivot

    def stream_to_pivot(self, created: int, text_sink: Callable[[str], None]) -> PivotStream:
        return GeminiPivotStream(created, text_sink)
