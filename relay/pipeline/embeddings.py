"""Embeddings across formats: an OpenAI /v1/embeddings call on a Gemini channel, and a Gemini
:embedContent / :batchEmbedContents call on an OpenAI-compatible channel.

The first is new-api's Gemini adaptor (ConvertEmbeddingRequest, GeminiEmbeddingHandler): always
the batch call upstream, usage counted locally since Gemini reports none. new-api sends the
second to /v1/chat/completions unconverted, which no upstream takes; relay converts it too
(a deliberate superset), billed from the upstream's usage like any OpenAI embeddings call.
"""

from __future__ import annotations

from typing import Any

import orjson

from relay.convert.claude_request import ConversionError
from relay.convert.gemini_common import GeminiConversionError
from relay.convert.gemini_embeddings import (
    gemini_to_openai_embeddings,
    gemini_to_openai_embeddings_request,
    openai_to_gemini_embeddings,
    openai_to_gemini_embeddings_response,
)
from relay.errors import RelayError, message
from relay.http.server import Reply
from relay.pipeline.call import Call
from relay.pipeline.settle import fallback_usage, settle
from relay.providers.base import Endpoint, Format, Provider, UpstreamCall, Usage
from relay.worker.context import WorkerContext

# The embeddings endpoint of each format that has one.
ENDPOINTS: dict[Format, Endpoint] = {
    Format.OPENAI: Endpoint.EMBEDDINGS,
    Format.GEMINI: Endpoint.GEMINI_EMBED,
}


def crosses(call: Call, provider: Provider) -> bool:
    """Whether the call is an embeddings call whose channel takes the other format's."""
    native = provider.native
    return (
        call.endpoint is ENDPOINTS.get(call.surface)
        and native is not call.surface
        and native in ENDPOINTS
    )


def _batch(payload: dict[str, Any]) -> bool:
    # The Gemini provider's rule too: a body with `requests` is a batchEmbedContents one.
    return "requests" in payload


def upstream_request(
    payload: dict[str, Any], native: Format, upstream_model: str
) -> tuple[Endpoint, dict[str, Any]]:
    """The client's embeddings request in the channel's format `native`; raises
    ConversionError for a request that has no such form."""
    try:
        if native is Format.GEMINI:
            converted = openai_to_gemini_embeddings(payload, model=upstream_model)
        else:
            converted = gemini_to_openai_embeddings_request(
                payload, model=upstream_model, batch=_batch(payload)
            )
    except GeminiConversionError as exc:
        raise ConversionError(str(exc)) from None
    return ENDPOINTS[native], converted


def upstream_embeddings(call: Call, native: Format, upstream_model: str) -> UpstreamCall:
    """The UpstreamCall of a crossing embeddings call (the converted body stands in for the
    client's; param_override still applies over it)."""
    endpoint, payload = upstream_request(call.payload, native, upstream_model)
    return UpstreamCall(
        endpoint=endpoint,
        body=orjson.dumps(payload),
        payload=payload,
        upstream_model=upstream_model,
        model_mapped=upstream_model != call.model,
        stream=False,
        inject_usage=False,
        format=native,
        client_headers=call.client_headers,
        client_query=call.client_query,
    )


def client_body(
    payload: dict[str, Any], native: Format, data: Any, model: str, usage: Usage
) -> dict[str, Any]:
    """The channel's answer in the client's format, given the client's request `payload`;
    raises GeminiConversionError for an answer that is not an embeddings one."""
    if native is Format.GEMINI:
        encoding = payload.get("encoding_format")
        return gemini_to_openai_embeddings(
            data,
            model=model,
            prompt_tokens=usage.prompt_tokens,
            encoding_format=encoding if isinstance(encoding, str) else None,
        )
    return openai_to_gemini_embeddings_response(data, batch=_batch(payload))


async def respond_embeddings(
    ctx: WorkerContext, call: Call, channel_id: int, provider: Provider, data: Any, lang: str
) -> Reply:
    """Settle a crossing embeddings call and answer it in the client's format."""
    native = provider.native
    usage = None
    if native is Format.OPENAI and isinstance(data, dict):
        usage = provider.parse_usage(ENDPOINTS[native], data)
    if usage is None or usage.prompt_tokens == 0:
        usage = fallback_usage(ctx, call, 0)  # new-api's local count; completion is 0
    try:
        body = client_body(call.payload, native, data, call.upstream_model, usage)
    except GeminiConversionError as exc:
        text = message("upstream_bad_body", lang, error=str(exc))
        raise RelayError(500, text, "bad_response_body") from None
    settle(ctx, call, channel_id, usage)
    headers = [("Content-Type", "application/json"), ("X-Oneapi-Request-Id", call.request_id)]
    return Reply(200, orjson.dumps(body), headers)
