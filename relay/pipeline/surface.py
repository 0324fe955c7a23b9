"""Client surfaces: the API format a client speaks, and how it meets the pivot format.

A call whose channel speaks the client's format passes bytes through (see forward and
stream). Otherwise the request goes to the pivot (OpenAI Chat) and the channel's provider
converts it; the response comes back as the pivot and the surface writes it in the client's
format. Adding a client format = one surface module + one line in SURFACES.
"""

from __future__ import annotations

from typing import Any, Protocol

from relay._fast.sse import SSEEvent
from relay.pipeline.call import Call
from relay.pipeline.surface_claude import ClaudeSurface
from relay.pipeline.surface_gemini import GeminiSurface
from relay.pipeline.surface_openai import OpenAISurface
from relay.pipeline.surface_responses import ResponsesSurface
from relay.providers.base import Endpoint, Format, Usage


class ClientStream(Protocol):
    """Writes pivot chunks as the client's stream."""

    def feed(self, chunk: dict[str, Any]) -> bytes: ...

    def finish(self, usage: Usage) -> bytes:
        """The closing frames, given the usage the call is billed for."""
        ...


class Surface(Protocol):
    @property
    def format(self) -> Format: ...

    @property
    def error_shape(self) -> str:
        """The RelayError body shape for errors past new-api's middleware."""
        ...

    @property
    def done_frame(self) -> bytes:
        """What ends a passed-through stream when the upstream did not (b"" for none)."""
        ...

    def frame(self, event: SSEEvent) -> bytes:
        """One passed-through event, re-framed (when it cannot go byte for byte)."""
        ...

    def request_to_pivot(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The client's request as an OpenAI Chat request; raises ConversionError."""
        ...

    def response_from_pivot(self, pivot: dict[str, Any], usage: Usage) -> dict[str, Any]: ...

    def stream_from_pivot(self, call: Call, created: int) -> ClientStream: ...


SURFACES: dict[Format, Surface] = {
    Format.OPENAI: OpenAISurface(),
    Format.CLAUDE: ClaudeSurface(),
    Format.GEMINI: GeminiSurface(),
    Format.RESPONSES: ResponsesSurface(),
}
# The surface of each client endpoint that is not an OpenAI one.
ENDPOINT_FORMATS: dict[Endpoint, Format] = {
    Endpoint.MESSAGES: Format.CLAUDE,
    Endpoint.GEMINI: Format.GEMINI,
    Endpoint.GEMINI_EMBED: Format.GEMINI,
    Endpoint.RESPONSES: Format.RESPONSES,
}


def surface_for(endpoint: Endpoint) -> Surface:
    return SURFACES[ENDPOINT_FORMATS.get(endpoint, Format.OPENAI)]
