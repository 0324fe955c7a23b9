"""The OpenAI-compatible provider: URL, headers and body for a channel, responses read back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from relay.convert.reasoning import OPENAI_EFFORT_SUFFIXES, apply_openai_effort
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
from relay.providers.openai.convert import (
    OpenAIPivotStream,
    OpenAIStreamObserver,
    choice_texts,
    usage_from,
)
from relay.providers.openai.responses import (
    ResponsesStreamObserver,
    is_response,
    output_texts,
    responses_usage,
)
from relay.routing import Channel

_INJECTED_USAGE = b'{"stream_options":{"include_usage":true},'


@dataclass(frozen=True, slots=True)
class Vendor:
    """An OpenAI-compatible service: its default base URL, whether it takes stream_options,
    and whether it serves the Responses API itself (new-api's list; others go through Chat)."""

    name: str
    base_url: str
    stream_options: bool
    responses: bool = False


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

    native = Format.OPENAI

    def __init__(self, vendor: Vendor) -> None:
        self.vendor = vendor

    def build_request(self, channel: Channel, key: str, call: UpstreamCall) -> UpstreamRequest:
        base = channel.base_url or self.vendor.base_url
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        if call.stream:
            headers["Accept"] = "text/event-stream"
        if channel.organization:
            headers["OpenAI-Organization"] = channel.organization
        headers.update(overridden_headers(channel, key))
        return UpstreamRequest(base + call.endpoint.value, self._body(channel, call), headers)

    def speaks_responses(self) -> bool:
        return self.vendor.responses

    def _body(self, channel: Channel, call: UpstreamCall) -> bytes:
        # The Responses API has no stream_options.include_usage: its last event carries usage.
        inject = (
            call.inject_usage
            and self.vendor.stream_options
            and call.endpoint is not Endpoint.RESPONSES
        )
        # new-api turns a Responses model's effort suffix (o3-high) into reasoning.effort.
        effort = call.endpoint is Endpoint.RESPONSES and call.upstream_model.endswith(
            OPENAI_EFFORT_SUFFIXES
        )
        rewrite = call.model_mapped or bool(channel.param_override) or effort
        if not rewrite:
            if not inject:
                return call.body  # pass the client's bytes through untouched
            spliced = _splice_usage_option(call.body)
            if spliced is not None:
                return spliced
        payload = dict(call.payload)
        payload["model"] = call.upstream_model
        if effort:
            apply_openai_effort(payload, call.upstream_model, responses=True)
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
        # By shape, not endpoint: a Responses client's call may have gone up as Chat.
        return responses_usage(body) if is_response(body) else usage_from(body)

    def response_text(self, endpoint: Endpoint, body: dict[str, Any]) -> list[str]:
        texts: list[str] = []
        if is_response(body):
            output_texts(body, texts)
        else:
            choice_texts(endpoint, body, texts)
        return texts

    def stream_observer(
        self, endpoint: Endpoint, drop_usage_chunk: bool, text_sink: Callable[[str], None]
    ) -> StreamObserver:
        if endpoint is Endpoint.RESPONSES:
            return ResponsesStreamObserver(text_sink)
        return OpenAIStreamObserver(endpoint, drop_usage_chunk, text_sink)

    def response_to_pivot(self, body: dict[str, Any], created: int) -> dict[str, Any]:
        return body  # OpenAI Chat is the pivot

    def stream_to_pivot(self, created: int, text_sink: Callable[[str], None]) -> PivotStream:
        return OpenAIPivotStream(text_sink)
