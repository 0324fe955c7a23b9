"""relay.providers.gemini.adaptor: the upstream request for a Gemini channel, and its answers."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from relay.convert.claude_request import ConversionError
from relay.convert.gemini_common import GeminiOptions
from relay.errors import RelayError
from relay.providers.base import Endpoint, Format, UpstreamCall
from relay.providers.gemini.adaptor import Gemini
from relay.routing import Channel

PROVIDER = Gemini()
# Unusual spacing and key order: passing through must keep it byte for byte.
GEMINI_BODY = b'{"contents" : [{"role":"user","parts":[{"text":"hi"}]}],  "generationConfig":{}}'
PIVOT = {"model": "gemini-x", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 9}


def channel(**kw: Any) -> Channel:
    return Channel(**{"id": 1, "type": 24, "name": "g", "keys": ("AIza",), **kw})


def call(
    body: bytes = GEMINI_BODY,
    *,
    fmt: Format = Format.GEMINI,
    upstream_model: str = "gemini-x",
    stream: bool = False,
    payload: dict[str, Any] | None = None,
) -> UpstreamCall:
    return UpstreamCall(
        endpoint=Endpoint.GEMINI if fmt is Format.GEMINI else Endpoint.CHAT,
        body=body,
        payload=payload if payload is not None else orjson.loads(body),
        upstream_model=upstream_model,
        model_mapped=upstream_model != "gemini-x",
        stream=stream,
        inject_usage=False,
        format=fmt,
    )


def test_gemini_bytes_pass_through_with_the_key_header() -> None:
    req = PROVIDER.build_request(channel(), "AIza", call())
    assert req.url == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-x:generateContent"
    )
    assert req.body is GEMINI_BODY
    assert req.headers == {"x-goog-api-key": "AIza", "Content-Type": "application/json"}


def test_streams_use_sse_and_a_mapped_model_changes_only_the_url() -> None:
    req = PROVIDER.build_request(
        channel(base_url="http://proxy.test/"), "k", call(stream=True, upstream_model="real-1")
    )
    assert req.url == "http://proxy.test/v1beta/models/real-1:streamGenerateContent?alt=sse"
    assert req.body is GEMINI_BODY


def test_overrides_rewrite_the_body_without_the_pivot_hints() -> None:
    payload = {**orjson.loads(GEMINI_BODY), "model": "gemini-x", "stream": False}
    ch = channel(
        param_override={"generationConfig": {"temperature": 0}},
        header_override={"x-goog-api-key": "{api_key}-2", "X-Extra": "1"},
    )
    req = PROVIDER.build_request(ch, "k", call(payload=payload))
    assert orjson.loads(req.body) == {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"temperature": 0},
    }
    assert req.headers["x-goog-api-key"] == "k-2" and req.headers["X-Extra"] == "1"


def test_a_pivot_request_is_converted() -> None:
    body = orjson.dumps(PIVOT)
    req = PROVIDER.build_request(channel(), "k", call(body, fmt=Format.OPENAI))
    sent = orjson.loads(req.body)
    assert sent["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]
    assert sent["generationConfig"]["maxOutputTokens"] == 9
    assert "model" not in sent


def test_an_unconvertible_pivot_is_a_conversion_error() -> None:
    bad = {"model": "gemini-x", "messages": "hi"}
    with pytest.raises(ConversionError, match="messages"):
        PROVIDER.build_request(channel(), "k", call(orjson.dumps(bad), fmt=Format.OPENAI))


def test_thinking_suffixes_leave_the_url_only_with_the_adapter_on() -> None:
    suffixed = call(upstream_model="gemini-2.5-flash-thinking")
    assert ":generateContent" in PROVIDER.build_request(channel(), "k", suffixed).url
    assert "gemini-2.5-flash-thinking:" in PROVIDER.build_request(channel(), "k", suffixed).url
    adapter = Gemini(GeminiOptions(thinking_adapter=True))
    assert "/models/gemini-2.5-flash:" in adapter.build_request(channel(), "k", suffixed).url


def test_usage_text_and_the_pivot_of_a_response() -> None:
    body = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "hello"}]},
                "finishReason": "MAX_TOKENS",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 2, "totalTokenCount": 9},
        "modelVersion": "gemini-x-001",
        "responseId": "abc",
    }
    usage = PROVIDER.parse_usage(Endpoint.GEMINI, body)
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (7, 2)
    assert PROVIDER.response_text(Endpoint.GEMINI, body) == ["hello"]
    pivot = PROVIDER.response_to_pivot(body, 5)
    assert pivot["id"] == "chatcmpl-abc" and pivot["model"] == "gemini-x-001"
    assert pivot["created"] == 5 and pivot["object"] == "chat.completion"
    assert pivot["choices"][0]["message"]["content"] == "hello"
    assert pivot["choices"][0]["finish_reason"] == "length"
    assert not PROVIDER.injects_usage()


def test_blocked_and_malformed_responses_are_relay_errors() -> None:
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}}
    with pytest.raises(RelayError) as info:
        PROVIDER.response_to_pivot(blocked, 1)
    assert (info.value.status, info.value.code) == (400, "prompt_blocked")
    with pytest.raises(RelayError) as bad:
        PROVIDER.response_to_pivot({"candidates": ["nope"]}, 1)
    assert (bad.value.status, bad.value.code) == (500, "bad_response_body")


def test_embeddings_pick_single_or_batch_by_the_body() -> None:
    single = b'{"content":{"parts":[{"text":"hi"}]}}'
    batch = b'{"requests":[{"content":{"parts":[{"text":"hi"}]}}]}'
    for body, action in ((single, "embedContent"), (batch, "batchEmbedContents")):
        embed = UpstreamCall(
            endpoint=Endpoint.GEMINI_EMBED,
            body=body,
            payload=orjson.loads(body),
            upstream_model="text-embedding-004",
            model_mapped=False,
            stream=False,
            inject_usage=False,
            format=Format.GEMINI,
        )
        req = PROVIDER.build_request(channel(), "k", embed)
        assert req.url.endswith(f"/v1beta/models/text-embedding-004:{action}")
        assert req.body is body
    assert PROVIDER.parse_usage(Endpoint.GEMINI_EMBED, {"embedding": {"values": [1.0]}}) is None


def test_the_api_version_in_the_url_follows_gemini_version_settings() -> None:
    table = {"default": "v1alpha", "gemini-1.0-pro": "v1"}
    versions = Gemini(GeminiOptions(version_settings=table))
    assert (
        "/v1alpha/models/gemini-x:generateContent"
        in versions.build_request(channel(), "k", call()).url
    )
    assert (
        "/v1/models/gemini-1.0-pro:"
        in versions.build_request(channel(), "k", call(upstream_model="gemini-1.0-pro")).url
    )
    assert (
        "/v1beta/models/gemini-1.0-pro:"
        not in PROVIDER.build_request(channel(), "k", call(upstream_model="gemini-1.0-pro")).url
    )
