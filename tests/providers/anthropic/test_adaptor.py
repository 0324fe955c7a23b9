"""relay.providers.anthropic.adaptor: the upstream request for an Anthropic channel."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from relay.convert.claude_request import ClaudeOptions, ConversionError
from relay.providers.anthropic.adaptor import Anthropic
from relay.providers.base import Endpoint, Format, UpstreamCall, Usage
from relay.routing import Channel

PROVIDER = Anthropic()
# Unusual spacing and key order: passing through must keep it byte for byte.
CLAUDE_BODY = b'{"model" : "claude-x",  "max_tokens":9,"messages":[{"role":"user","content":"hi"}]}'


def channel(**kw: Any) -> Channel:
    return Channel(**{"id": 1, "type": 14, "name": "c", "keys": ("sk-ant",), **kw})


def call(
    body: bytes = CLAUDE_BODY,
    *,
    fmt: Format = Format.CLAUDE,
    upstream_model: str = "claude-x",
    mapped: bool = False,
    stream: bool = False,
    headers: dict[str, str] | None = None,
) -> UpstreamCall:
    return UpstreamCall(
        endpoint=Endpoint.MESSAGES if fmt is Format.CLAUDE else Endpoint.CHAT,
        body=body,
        payload=orjson.loads(body),
        upstream_model=upstream_model,
        model_mapped=mapped,
        stream=stream,
        inject_usage=False,
        format=fmt,
        client_headers=headers or {},
    )


def test_claude_bytes_pass_through_with_default_headers() -> None:
    req = PROVIDER.build_request(channel(), "sk-ant", call())
    assert req.url == "https://api.anthropic.com/v1/messages"
    assert req.body is CLAUDE_BODY
    assert req.headers == {
        "x-api-key": "sk-ant",
        "anthropic-version": "2023-06-01",
        "Content-Type": "application/json",
    }


def test_client_version_beta_stream_and_base_url() -> None:
    headers = {"anthropic-version": "2024-10-22", "anthropic-beta": "tools-2024-05-16"}
    req = PROVIDER.build_request(
        channel(base_url="http://proxy.test/"), "k", call(stream=True, headers=headers)
    )
    assert req.url == "http://proxy.test/v1/messages"
    assert req.headers["anthropic-version"] == "2024-10-22"
    assert req.headers["anthropic-beta"] == "tools-2024-05-16"
    assert req.headers["Accept"] == "text/event-stream"


def test_model_mapping_and_overrides_rewrite_the_body() -> None:
    c = channel(param_override={"temperature": 0.1}, header_override={"X-Key": "{api_key}!"})
    req = PROVIDER.build_request(c, "k", call(upstream_model="claude-real", mapped=True))
    assert orjson.loads(req.body) == {
        "model": "claude-real",
        "max_tokens": 9,
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.1,
    }
    assert req.headers["X-Key"] == "k!"


def test_a_pivot_request_is_converted() -> None:
    body = orjson.dumps({"model": "alias", "messages": [{"role": "user", "content": "hi"}]})
    req = PROVIDER.build_request(channel(), "k", call(body, fmt=Format.OPENAI, upstream_model="c"))
    assert orjson.loads(req.body) == {
        "model": "c",
        "max_tokens": 8192,
        "messages": [{"role": "user", "content": "hi"}],
    }
    remote = {"type": "image_url", "image_url": {"url": "http://x/y.png"}}
    bad = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": [remote]}]})
    with pytest.raises(ConversionError):
        PROVIDER.build_request(channel(), "k", call(bad, fmt=Format.OPENAI))


def test_responses_are_read_natively_and_as_the_pivot() -> None:
    body = {
        "id": "msg_1",
        "model": "c",
        "content": [{"type": "text", "text": "hey"}, {"type": "tool_use", "name": "f",
                                                       "input": {"a": 1}}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 2, "cache_read_input_tokens": 1},
    }  # fmt: skip
    usage = PROVIDER.parse_usage(Endpoint.MESSAGES, body)
    assert usage == Usage(prompt_tokens=3, completion_tokens=2, cached_tokens=1, anthropic=True)
    assert PROVIDER.parse_usage(Endpoint.MESSAGES, {"content": []}) is None
    assert PROVIDER.response_text(Endpoint.MESSAGES, body) == ["hey", "f", '{"a":1}']
    pivot = PROVIDER.response_to_pivot(body, 5)
    assert pivot["choices"][0]["message"]["content"] == "hey"
    assert pivot["usage"]["prompt_tokens"] == 4
    assert PROVIDER.injects_usage() is False and PROVIDER.native is Format.CLAUDE


def test_model_headers_settings_merge_into_the_upstream_headers() -> None:
    headers_of = {"claude-x": {"anthropic-beta": ("b2", "b1, b3"), "X-Extra": ("1",)}}
    provider = Anthropic(ClaudeOptions(model_headers=headers_of))
    req = provider.build_request(channel(), "k", call(headers={"anthropic-beta": "b1"}))
    assert req.headers["anthropic-beta"] == "b1,b2,b3"
    assert req.headers["X-Extra"] == "1"
    assert (
        "X-Extra"
        not in provider.build_request(
            channel(), "k", call(b'{"model":"other","max_tokens":9,"messages":[]}')
        ).headers
    )


def test_a_claude_request_without_max_tokens_gets_the_configured_default() -> None:
    provider = Anthropic(ClaudeOptions(default_max_tokens={"default": 100, "claude-x": 777}))
    body = b'{"model":"claude-x","messages":[{"role":"user","content":"hi"}]}'
    sent = provider.build_request(channel(), "k", call(body)).body
    assert orjson.loads(sent)["max_tokens"] == 777
    zero = b'{"model":"claude-y","max_tokens":0,"messages":[]}'
    sent = provider.build_request(channel(), "k", call(zero, upstream_model="claude-y")).body
    assert orjson.loads(sent)["max_tokens"] == 100


def test_the_thinking_adapter_applies_to_claude_clients_too() -> None:
    body = b'{"model":"claude-x-thinking","max_tokens":2000,"messages":[]}'
    c = call(body, upstream_model="claude-x-thinking")
    sent = orjson.loads(PROVIDER.build_request(channel(), "k", c).body)
    assert sent["model"] == "claude-x"
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1600}
    assert sent["temperature"] == 1.0
    off = Anthropic(ClaudeOptions(thinking_adapter_enabled=False))
    assert off.build_request(channel(), "k", c).body is body
