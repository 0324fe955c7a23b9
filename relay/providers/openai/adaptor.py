"""The OpenAI-compatible provider: URL, headers and body for a channel, responses read back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from relay.providers.base import Endpoint, StreamObserver, UpstreamCall, UpstreamRequest, Usage
from relay.providers.openai.convert import OpenAIStreamObserver, choice_texts, usage_from
from relay.routing import Channel

_INJECTED_USAGE = b'{"stream_options":{"include_usage":true},'


@dataclass(frozen=True, slots=True)
class Vendor:
    """An OpenAI-compatible service: its default base URL and whether it takes stream_options."""

    name: str
    base_url: str
    stream_options: bool


def _splice_usage_option(body: bytes) -> bytes | None:
    """Add stream_options to a JSON object's bytes without re-encoding it, when that is safe."""
    if b'"stream_options"' in body:
        return None
    start = body.find(b"{")
    if start == -1 or body[:start].strip():
        return None
    rest = body[start + 1 :]
    if rest.lstrip()[:1] in (b"}", b""):
        return None
    return _INJECTED_USAGE + rest


class OpenAICompatible:
    """One instance per vendor row; stateless and shared by all requests."""

    def __init__(self, vendor: Vendor) -> None:
        self.vendor = vendor

    def build_request(self, channel: Channel, key: str, call: UpstreamCall) -> UpstreamRequest:
        base = channel.base_url or self.vendor.base_url
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        if call.stream:
            headers["Accept"] = "text/event-stream"
        if channel.organization:
            headers["OpenAI-Organization"] = channel.organization
        for name, value in channel.header_override.items():
            headers[name] = value.replace("{api_key}", key)
        return UpstreamRequest(base + call.endpoint.value, self._body(channel, call), headers)

    def _body(self, channel: Channel, call: UpstreamCall) -> bytes:
        inject = call.inject_usage and self.vendor.stream_options
        rewrite = call.model_mapped or bool(channel.param_override)
        if not rewrite:
            if not inject:
                return call.body  # pass the client's bytes through untouched
            spliced = _splice_usage_option(call.body)
            if spliced is not None:
                return spliced
        payload = dict(call.payload)
        payload["model"] = call.upstream_model
        if inject:
            options = payload.get("stream_options")
            payload["stream_options"] = {
                **(options if isinstance(options, dict) else {}),
                "include_usage": True,
            }
        payload.update(channel.param_override)
        return orjson.dumps(payload)

    def injects_usage(self) -> bool:
        return self.vendor.stream_options

    def parse_usage(self, endpoint: Endpoint, body: dict[str, Any]) -> Usage | None:
        return usage_from(body)

    def response_text(self, endpoint: Endpoint, body: dict[str, Any]) -> list[str]:
        texts: list[str] = []
        choice_texts(endpoint, body, texts)
        return texts

    def stream_observer(
        self, endpoint: Endpoint, drop_usage_chunk: bool, text_sink: Callable[[str], None]
    ) -> StreamObserver:
        return OpenAIStreamObserver(endpoint, drop_usage_chunk, text_sink)
