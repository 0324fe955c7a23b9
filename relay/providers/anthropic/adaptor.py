"""The Anthropic provider: POST {base}/v1/messages with x-api-key and anthropic-version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from relay.convert.claude_request import ClaudeOptions, openai_to_claude_request
from relay.convert.claude_response import claude_to_openai_response
from relay.providers.anthropic.convert import (
    ClaudePivotStream,
    ClaudeStreamObserver,
    content_texts,
    usage_of,
)
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
from relay.routing import Channel

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_VERSION = "2023-06-01"


class Anthropic:
    """Stateless and shared by all requests; `options` are new-api's claude.* settings."""

    native = Format.CLAUDE

    def __init__(self, options: ClaudeOptions | None = None) -> None:
        self.options = options or ClaudeOptions()

    def build_request(self, channel: Channel, key: str, call: UpstreamCall) -> UpstreamRequest:
        """Raises ConversionError for a pivot request Claude cannot take."""
        base = (channel.base_url or DEFAULT_BASE_URL).rstrip("/")
        headers = {
            "x-api-key": key,
            "anthropic-version": call.client_headers.get("anthropic-version") or DEFAULT_VERSION,
            "Content-Type": "application/json",
        }
        beta = call.client_headers.get("anthropic-beta")
        if beta:
            headers["anthropic-beta"] = beta
        if call.stream:
            headers["Accept"] = "text/event-stream"
        headers.update(overridden_headers(channel, key))
        return UpstreamRequest(f"{base}/v1/messages", self._body(channel, call), headers)

    def _body(self, channel: Channel, call: UpstreamCall) -> bytes:
        if call.format is Format.CLAUDE:
            if not call.model_mapped and not channel.param_override:
                return call.body  # a Claude client's bytes go up untouched
            payload = dict(call.payload)
            payload["model"] = call.upstream_model
        else:
            pivot = {**call.payload, "model": call.upstream_model}
            payload = openai_to_claude_request(pivot, self.options)
        payload.update(channel.param_override)
        return orjson.dumps(payload)

    def injects_usage(self) -> bool:
        return False  # Claude streams always carry usage

    def parse_usage(self, endpoint: Endpoint, body: dict[str, Any]) -> Usage | None:
        return usage_of(body)

    def response_text(self, endpoint: Endpoint, body: dict[str, Any]) -> list[str]:
        texts: list[str] = []
        content_texts(body.get("content"), texts)
        return texts

    def stream_observer(
        self, endpoint: Endpoint, drop_usage_chunk: bool, text_sink: Callable[[str], None]
    ) -> StreamObserver:
        return ClaudeStreamObserver(text_sink)

    def response_to_pivot(self, body: dict[str, Any], created: int) -> dict[str, Any]:
        return claude_to_openai_response(body, created)

    def stream_to_pivot(self, created: int, text_sink: Callable[[str], None]) -> PivotStream:
        return ClaudePivotStream(created, text_sink)
