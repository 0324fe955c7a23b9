"""The provider interface: how relay talks to one kind of upstream."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from relay.routing import Channel


class Endpoint(StrEnum):
    """The client API a request came in on (the path new-api would forward upstream)."""

    CHAT = "/v1/chat/completions"
    COMPLETIONS = "/v1/completions"
    EMBEDDINGS = "/v1/embeddings"


@dataclass(slots=True)
class Usage:
    """Token usage of one call. `anthropic` marks input tokens that exclude cached ones."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    image_tokens: int = 0
    anthropic: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True)
class UpstreamCall:
    """What a provider needs to build one upstream request."""

    endpoint: Endpoint
    body: bytes  # the client's raw JSON body
    payload: dict[str, Any]  # the same, parsed
    upstream_model: str
    model_mapped: bool
    stream: bool
    inject_usage: bool  # add stream_options.include_usage upstream


@dataclass(slots=True)
class UpstreamRequest:
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class StreamObserver(Protocol):
    """Watches a same-format stream go by: finds the usage, keeps what a fallback count needs."""

    def observe(self, data: bytes) -> bool:
        """Look at one event's data; False means drop it (a usage chunk nobody asked for)."""
        ...

    def usage(self) -> Usage | None:
        """The usage the upstream reported, if any."""
        ...

    def flush_text(self) -> None:
        """Hand every generated text seen so far to the text sink (used when usage is missing)."""
        ...

    @property
    def tool_calls(self) -> int:
        """Tool calls started in the stream (new-api counts 7 tokens for each)."""
        ...


class Provider(Protocol):
    """Build requests for, and read responses of, one kind of upstream."""

    def build_request(self, channel: Channel, key: str, call: UpstreamCall) -> UpstreamRequest: ...

    def injects_usage(self) -> bool:
        """Whether this upstream accepts stream_options.include_usage."""
        ...

    def parse_usage(self, endpoint: Endpoint, body: dict[str, Any]) -> Usage | None: ...

    def stream_observer(
        self, endpoint: Endpoint, drop_usage_chunk: bool, text_sink: Callable[[str], None]
    ) -> StreamObserver: ...

    def response_text(self, endpoint: Endpoint, body: dict[str, Any]) -> list[str]:
        """The generated text of a non-stream response (for counting when usage is missing)."""
        ...
