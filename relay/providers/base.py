"""The provider interface: how relay talks to one kind of upstream."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from relay.routing import Channel


class Endpoint(StrEnum):
    """The client API a request came in on (the path new-api would forward upstream)."""

    CHAT = "/v1/chat/completions"
    COMPLETIONS = "/v1/completions"
    EMBEDDINGS = "/v1/embeddings"
    MESSAGES = "/v1/messages"
    GEMINI = "/v1beta/models/{model}:generateContent"  # and :streamGenerateContent
    GEMINI_EMBED = "/v1beta/models/{model}:embedContent"  # and :batchEmbedContents
    RESPONSES = "/v1/responses"
    MODERATIONS = "/v1/moderations"
    IMAGES = "/v1/images/generations"
    IMAGE_EDITS = "/v1/images/edits"
    EDITS = "/v1/edits"
    SPEECH = "/v1/audio/speech"
    TRANSCRIPTIONS = "/v1/audio/transcriptions"
    TRANSLATIONS = "/v1/audio/translations"
    RERANK = "/v1/rerank"
    REALTIME = "/v1/realtime"  # a WebSocket session (relay/pipeline/realtime.py)


class Format(StrEnum):
    """A wire format of generation requests. OPENAI (Chat Completions) is the pivot: a client
    format and a channel's native format that differ meet in it."""

    OPENAI = "openai"
    CLAUDE = "claude"
    GEMINI = "gemini"
    RESPONSES = "responses"  # OpenAI Responses API


@dataclass(slots=True)
class Usage:
    """Token usage of one call. `anthropic` marks input tokens that exclude cached ones;
    `partial` a Claude stream that ended before its message_delta (output not final)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    image_tokens: int = 0
    anthropic: bool = False
    partial: bool = False

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
    format: Format = Format.OPENAI  # the format of body/payload: the provider's native or pivot
    client_headers: Mapping[str, str] = field(default_factory=dict)
    edited: bool = False  # the channel's setting changed `payload` (not `body`): re-encode it
    pass_through: bool = False  # setting.pass_through_body_enabled: `body` goes up untouched
    client_query: Mapping[str, str] = field(default_factory=dict)  # e.g. Azure's api-version


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


class PivotStream(Protocol):
    """Turns a channel's native stream into pivot (OpenAI Chat) chunks, reading usage."""

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """One upstream event's data → the pivot chunks it stands for."""
        ...

    def usage(self) -> Usage | None: ...

    @property
    def tool_calls(self) -> int: ...


class Provider(Protocol):
    """Build requests for, and read responses of, one kind of upstream.

    `build_request` takes a body in the provider's native format (passed through) or in the
    pivot format (converted); responses come back native, and `response_to_pivot` /
    `stream_to_pivot` read them as the pivot when the client speaks another format.
    """

    @property
    def native(self) -> Format:
        """The wire format this upstream speaks for generation requests."""
        ...

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

    def response_to_pivot(self, body: dict[str, Any], created: int) -> dict[str, Any]:
        """A native non-stream response as an OpenAI chat.completion."""
        ...

    def stream_to_pivot(self, created: int, text_sink: Callable[[str], None]) -> PivotStream:
        """A reader of the native stream that yields OpenAI chunks (texts go to the sink)."""
        ...


@runtime_checkable
class SpeaksResponses(Protocol):
    """Optional ability: the upstream also takes OpenAI Responses requests as they are."""

    def speaks_responses(self) -> bool: ...


@runtime_checkable
class SpeaksClaude(Protocol):
    """Optional ability: the upstream also takes Claude Messages requests as they are (a
    vendor's Anthropic-compatible API), for the upstream models this says."""

    def speaks_claude(self, model: str) -> bool: ...


def speaks(provider: Provider, fmt: Format, model: str = "") -> bool:
    """Whether `provider` takes a request of client format `fmt` for upstream `model` as it
    is (bytes through)."""
    if provider.native is fmt:
        return True
    if fmt is Format.RESPONSES:
        return isinstance(provider, SpeaksResponses) and provider.speaks_responses()
    return (
        fmt is Format.CLAUDE
        and isinstance(provider, SpeaksClaude)
        and provider.speaks_claude(model)
    )


def overridden_headers(channel: Channel, key: str) -> dict[str, str]:
    """The channel's header_override, with `{api_key}` replaced by the key in use."""
    return {
        name: value.replace("{api_key}", key) for name, value in channel.header_override.items()
    }
