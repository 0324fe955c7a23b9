"""UpstreamCalls for provider tests: a client's JSON body as a provider receives it."""

from __future__ import annotations

import orjson

from relay.providers.base import Endpoint, UpstreamCall


def upstream_call(
    body: bytes,
    *,
    endpoint: Endpoint = Endpoint.CHAT,
    upstream_model: str,
    mapped: bool = False,
    stream: bool = False,
    inject: bool = False,
) -> UpstreamCall:
    return UpstreamCall(
        endpoint=endpoint,
        body=body,
        payload=orjson.loads(body),
        upstream_model=upstream_model,
        model_mapped=mapped,
        stream=stream,
        inject_usage=inject,
    )
