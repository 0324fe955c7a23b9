"""The OpenAI-compatible provider: URL, headers and body for a channel, responses read back.
Vendors with an Anthropic-compatible API (`Vendor.claude_path`) take Claude calls as they are."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from relay.convert.claude_request import ClaudeOptions
from relay.convert.reasoning import OPENAI_EFFORT_SUFFIXES, apply_openai_effort
from relay.providers.anthropic.adaptor import Anthropic
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
# The endpoints whose requests carry stream_options (new-api's TextHelper).
_STREAM_OPTION_ENDPOINTS = frozenset({Endpoint.CHAT, Endpoint.COMPLETIONS})


@dataclass(frozen=True, slots=True)
class Vendor:
    """An OpenAI-compatible service: its default base URL, whether it takes stream_options,
    and whether it serves the Responses API itself (new-api's list; others go through Chat)."""

    name: str
    base_url: str
    stream_options: bool
    responses: bool = False
    # The upstream path of an endpoint where the vendor's differs from the client's.
    paths: Mapping[Endpoint, str] = field(default_factory=dict)
    # The channel's base URL is the whole request URL, `{model}` replaced (new-api's Custom).
    full_url: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)  # sent on every request
    # The vendor's Anthropic-compatible Messages API, where Claude clients' calls go as they are.
    claude_path: str = ""


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

    def __init__(self, vendor: Vendor, claude: ClaudeOptions | None = None) -> None:
        self.vendor = vendor
        # A Claude call to the vendor's Anthropic API: the body and the readers are Anthropic's.
        self.claude = Anthropic(claude)

    def build_request(self, channel: Channel, key: str, call: UpstreamCall) -> UpstreamRequest:
        """Raises ConversionError for a Claude request new-api's Claude rules refuse."""
        if call.format is Format.CLAUDE:
            return self._claude_request(channel, key, call)
        headers = self._headers(channel, key, call)
        headers.update(overridden_headers(channel, key))
        return UpstreamRequest(self._url(channel, call), self._body(channel, call), headers)

    def _claude_request(self, channel: Channel, key: str, call: UpstreamCall) -> UpstreamRequest:
        """A Claude call to the vendor's Anthropic API: Anthropic's body and anthropic-*
        headers, the vendor's own auth (new-api sends these vendors a Bearer key)."""
        claude = self.claude.build_request(channel, key, call)
        headers = {k: v for k, v in claude.headers.items() if k.lower().startswith("anthropic-")}
        headers.update(self._headers(channel, key, call))
        headers.update(overridden_headers(channel, key))
        base = channel.base_url or self.vendor.base_url
        return UpstreamRequest(base + self.vendor.claude_path, claude.body, headers)

    def _url(self, channel: Channel, call: UpstreamCall) -> str:
        base = channel.base_url or self.vendor.base_url
        if self.vendor.full_url:
            return base.replace("{model}", call.upstream_model)
        return base + self.vendor.paths.get(call.endpoint, call.endpoint.value)

    def _headers(self, channel: Channel, key: str, call: UpstreamCall) -> dict[str, str]:
        """The vendor's own headers; the channel's header_override is applied over them."""
        content_type = call.client_headers.get("content-type", "application/json")  # or a form's
        headers = {"Authorization": f"Bearer {key}", "Content-Type": content_type}
        if call.stream:
            headers["Accept"] = "text/event-stream"
        if channel.organization:
            headers["OpenAI-Organization"] = channel.organization
        headers.update(self.vendor.headers)
        return headers

    def speaks_responses(self) -> bool:
        return self.vendor.responses

    def speaks_claude(self, model: str) -> bool:
        return bool(self.vendor.claude_path)

    def _body(self, channel: Channel, call: UpstreamCall) -> bytes:
        if call.pass_through:
            return call.body
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
        # new-api drops a client's stream_options unless the vendor takes them and it streams.
        drop_options = (
            call.endpoint in _STREAM_OPTION_ENDPOINTS
            and "stream_options" in call.payload
            and not (self.vendor.stream_options and call.stream)
        )
        rewrite = (
            call.model_mapped
            or bool(channel.param_override)
            or effort
            or call.edited
            or drop_options
        )
        if not rewrite:
            if not inject:
                return call.body  # pass the client's bytes through untouched
            spliced = _splice_usage_option(call.body)
            if spliced is not None:
                return spliced
        payload = dict(call.payload)
        payload["model"] = call.upstream_model
        if drop_options:
            del payload["stream_options"]
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
        # By shape, not endpoint: a Responses or Claude client's call may have gone up as Chat.
        if body.get("type") == "message":  # a Claude answer of the vendor's Anthropic API
            return self.claude.parse_usage(endpoint, body)
        return responses_usage(body) if is_response(body) else usage_from(body)

    def response_text(self, endpoint: Endpoint, body: dict[str, Any]) -> list[str]:
        if body.get("type") == "message":
            return self.claude.response_text(endpoint, body)
        texts: list[str] = []
        if is_response(body):
            output_texts(body, texts)
        else:
            choice_texts(endpoint, body, texts)
        return texts

    def stream_observer(
        self, endpoint: Endpoint, drop_usage_chunk: bool, text_sink: Callable[[str], None]
    ) -> StreamObserver:
        # Only same-format streams are observed: a Claude client's went to the Anthropic API.
        if endpoint is Endpoint.MESSAGES:
            return self.claude.stream_observer(endpoint, drop_usage_chunk, text_sink)
        if endpoint is Endpoint.RESPONSES:
            return ResponsesStreamObserver(text_sink)
        return OpenAIStreamObserver(endpoint, drop_usage_chunk, text_sink)

    def response_to_pivot(self, body: dict[str, Any], created: int) -> dict[str, Any]:
        return body  # OpenAI Chat is the pivot

    def stream_to_pivot(self, created: int, text_sink: Callable[[str], None]) -> PivotStream:
        return OpenAIPivotStream(text_sink)
