"""The per-request object the pipeline builds once and passes along."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from relay.auth import Principal
from relay.billing.quote import Quote
from relay.pipeline.media_request import MediaRequest
from relay.providers.base import Endpoint, Format
from relay.quota.service import Hold


@dataclass(slots=True)
class Call:
    """One relayed request: who, what, at what price, and what happened."""

    request_id: str
    endpoint: Endpoint
    principal: Principal
    body: bytes
    payload: dict[str, Any]
    model: str
    stream: bool
    client_wants_usage: bool
    using_group: str
    client_ip: str
    started: float
    quote: Quote
    prompt_estimate: int
    pinned_channel: int | None = None
    hold: Hold | None = None
    tried_channels: list[int] = field(default_factory=list)
    upstream_model: str = ""
    upstream_request_id: str = ""
    first_token_at: float = 0.0
    surface: Format = Format.OPENAI  # the client's format
    client_headers: dict[str, str] = field(default_factory=dict)  # forwarded to the provider
    client_query: dict[str, str] = field(default_factory=dict)  # likewise (Azure's api-version)
    pivot: dict[str, Any] | None = None  # the request as OpenAI Chat, made when first needed
    pivot_body: bytes = b""
    media: MediaRequest | None = None  # a media route's request (images, audio, rerank...)
