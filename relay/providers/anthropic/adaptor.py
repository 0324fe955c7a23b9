"""The Anthropic provider: POST {base}/v1/messages with x-api-key and anthropic-version."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from relay.convert.claude_request import (
    ClaudeOptions,
    adapt_claude_request,
    openai_to_claude_request,
)
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


def merge_header_lists(headers: dict[str, str], extra: Mapping[str, tuple[str, ...]]) -> None:
    """new-api's WriteHeaders: each configured header's values join the ones already set
    (comma lists, trimmed, first occurrence kept)."""
    for name, values in extra.items():
        existing = next((k for k in headers if k.lower() == name.lower()), None)
        current = [headers.pop(existing)] if existing is not None else []
        merged = dict.fromkeys(
            item.strip() for value in (*current, *values) for item in value.split(",")
        )
        merged.pop("", None)
        if merged:
            headers[name] = ",".join(merged)
        elif existing is not None:
            headers[existing] = current[0]


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
        requested = call.payload.get("model")
        extra = self.options.model_headers.get(str(requested or call.upstream_model))
        if extra:
            merge_header_lists(headers, extra)
        headers.update(overridden_headers(channel, key))
        return UpstreamRequest(f"{base}/v1/messages", self._body(channel, call), headers)

    def _body(self, channel: Channel, call: UpstreamCall) -> bytes:
        if call.pass_through:
            return call.body
        if call.format is Format.CLAUDE:
            adapted = adapt_claude_request(call.payload, call.upstream_model, self.options)
            if adapted is not None:
                payload = adapted
            elif not call.model_mapped and not channel.param_override and not call.edited:
                return call.body  # a Claude client's bytes go up untouched
            else:
                payload = {**call.payload, "model": call.upstream_model}
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
