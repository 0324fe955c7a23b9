"""relay.providers.openai.adaptor: the upstream request (URL, headers, body) for a channel."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from upstream_calls import upstream_call

from relay.providers.anthropic.convert import ClaudeStreamObserver
from relay.providers.base import Endpoint, Format, UpstreamCall, Usage, speaks
from relay.providers.openai.adaptor import OpenAICompatible, Vendor
from relay.providers.registry import ChannelType, provider_for
from relay.routing import Channel

OPENAI = OpenAICompatible(Vendor("OpenAI", "https://api.openai.com", True))
NO_STREAM_OPTIONS = OpenAICompatible(Vendor("Custom", "", False))

# Unusual spacing and key order: passing through must keep it byte for byte.
CLIENT_BODY = (
    b'{"model" : "gpt-4o-mini",  "messages":[{"role":"user","content":"hi \\u00e9"}],"stream":true}'
)


def channel(**kw: Any) -> Channel:
    return Channel(**{"id": 1, "type": 1, "name": "c", "keys": ("sk-up",), **kw})


def call(body: bytes = CLIENT_BODY, **kw: Any) -> UpstreamCall:
    return upstream_call(body, **{"upstream_model": "gpt-4o-mini", "stream": True, **kw})


def test_client_bytes_pass_through_untouched() -> None:
    c = call(inject=False)
    req = OPENAI.build_request(channel(), "sk-up", c)
    assert req.body is c.body


def test_no_injection_for_vendors_without_stream_options() -> None:
    c = call(inject=True)
    assert NO_STREAM_OPTIONS.build_request(channel(base_url="http://x"), "k", c).body is c.body
    assert not NO_STREAM_OPTIONS.injects_usage() and OPENAI.injects_usage()


def test_stream_options_are_spliced_without_re_encoding() -> None:
    req = OPENAI.build_request(channel(), "sk-up", call(inject=True))
    assert req.body == b'{"stream_options":{"include_usage":true},' + CLIENT_BODY[1:]
    data = orjson.loads(req.body)
    assert data["stream_options"] == {"include_usage": True}
    assert data["messages"][0]["content"] == "hi é"


def test_splice_keeps_leading_whitespace_out() -> None:
    body = b'  \n{"model":"m","stream":true}'
    req = OPENAI.build_request(channel(), "k", call(body, inject=True))
    assert req.body == b'{"stream_options":{"include_usage":true},"model":"m","stream":true}'


@pytest.mark.parametrize(
    ("body", "expected_options"),
    [
        (
            b'{"model":"m","stream":true,"stream_options":{"include_usage":false,"x":1}}',
            {"include_usage": True, "x": 1},
        ),
        (b'{"model":"m","stream":true,"stream_options":null}', {"include_usage": True}),
        (b'{"model":"m","stream":true,"stream_options":"bad"}', {"include_usage": True}),
        (b"{}", {"include_usage": True}),
        (b"{ }", {"include_usage": True}),
    ],
)
def test_re_encodes_when_splicing_is_not_safe(body: bytes, expected_options: dict) -> None:
    req = OPENAI.build_request(channel(), "k", call(body, upstream_model="m", inject=True))
    data = orjson.loads(req.body)
    assert data["stream_options"] == expected_options
    assert data["model"] == "m"


def test_model_mapping_re_encodes_with_the_upstream_model() -> None:
    c = call(upstream_model="gpt-4o-2024-08-06", mapped=True)
    req = OPENAI.build_request(channel(), "k", c)
    data = orjson.loads(req.body)
    assert data["model"] == "gpt-4o-2024-08-06"
    assert data["messages"] == c.payload["messages"] and data["stream"] is True
    assert "stream_options" not in data
    assert c.payload["model"] == "gpt-4o-mini"  # the client's payload is not mutated


def test_model_mapping_with_injection() -> None:
    req = OPENAI.build_request(channel(), "k", call(upstream_model="up", mapped=True, inject=True))
    data = orjson.loads(req.body)
    assert data["model"] == "up" and data["stream_options"] == {"include_usage": True}


def test_param_override_is_applied_last() -> None:
    override = {"temperature": 0.1, "model": "forced-model", "stream_options": {"x": 2}}
    c = call(inject=True)
    req = OPENAI.build_request(channel(param_override=override), "k", c)
    data = orjson.loads(req.body)
    assert data["temperature"] == 0.1
    assert data["model"] == "forced-model"
    assert data["stream_options"] == {"x": 2}
    assert "temperature" not in c.payload


def test_headers() -> None:
    req = OPENAI.build_request(channel(), "sk-up", call(stream=True))
    assert req.headers == {
        "Authorization": "Bearer sk-up",
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
    }
    req = OPENAI.build_request(channel(organization="org-1"), "sk-up", call(stream=False))
    assert "Accept" not in req.headers
    assert req.headers["OpenAI-Organization"] == "org-1"


def test_header_override_with_api_key_placeholder() -> None:
    ch = channel(
        header_override={
            "X-Api-Key": "{api_key}",
            "Authorization": "Token {api_key}",
            "X-Static": "v",
        }
    )
    req = OPENAI.build_request(ch, "sk-up", call())
    assert req.headers["X-Api-Key"] == "sk-up"
    assert req.headers["Authorization"] == "Token sk-up"
    assert req.headers["X-Static"] == "v"


@pytest.mark.parametrize(
    ("channel_type", "base"),
    [
        (ChannelType.OPENAI, "https://api.openai.com"),
        (ChannelType.OLLAMA, "http://localhost:11434"),
        (ChannelType.OPENROUTER, "https://openrouter.ai/api"),
        (ChannelType.MOONSHOT, "https://api.moonshot.cn"),
        (ChannelType.SILICONFLOW, "https://api.siliconflow.cn"),
        (ChannelType.MISTRAL, "https://api.mistral.ai"),
        (ChannelType.DEEPSEEK, "https://api.deepseek.com"),
        (ChannelType.XAI, "https://api.x.ai"),
    ],
)
def test_default_base_url_per_vendor(channel_type: ChannelType, base: str) -> None:
    provider = provider_for(channel_type)
    assert provider is not None
    req = provider.build_request(channel(type=channel_type), "k", call())
    assert req.url == base + "/v1/chat/completions"


@pytest.mark.parametrize("endpoint", list(Endpoint))
def test_channel_base_url_wins_and_endpoint_path_is_appended(endpoint: Endpoint) -> None:
    req = OPENAI.build_request(channel(base_url="http://mock:1"), "k", call(endpoint=endpoint))
    assert req.url == "http://mock:1" + endpoint.value


def test_parse_usage_and_response_text() -> None:
    data = {
        "choices": [{"message": {"content": "hello"}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }
    assert OPENAI.parse_usage(Endpoint.CHAT, data) == Usage(3, 1)
    assert OPENAI.parse_usage(Endpoint.CHAT, {"usage": None}) is None
    assert OPENAI.response_text(Endpoint.CHAT, data) == ["hello"]
    assert OPENAI.response_text(Endpoint.COMPLETIONS, {"choices": [{"text": "t"}]}) == ["t"]
    assert OPENAI.response_text(Endpoint.EMBEDDINGS, {"data": []}) == []


def test_stream_observer_is_wired() -> None:
    texts: list[str] = []
    obs = OPENAI.stream_observer(Endpoint.CHAT, True, texts.append)
    assert obs.observe(b'{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}') is False
    assert obs.usage() == Usage(1, 2)


RESPONSES_BODY = b'{"model" : "gpt-4o-mini", "input":"hi", "stream":true}'


@pytest.mark.parametrize("channel_type", list(ChannelType))
def test_responses_are_native_where_new_api_sends_them_natively(
    channel_type: ChannelType,
) -> None:
    provider = provider_for(channel_type)
    assert provider is not None
    native = {
        ChannelType.OPENAI,
        ChannelType.AZURE,
        ChannelType.CUSTOM,
        ChannelType.ALI,
        ChannelType.OPENROUTER,
        ChannelType.DEEPSEEK,
        ChannelType.XAI,
    }
    assert speaks(provider, Format.RESPONSES) is (channel_type in native)
    assert speaks(provider, provider.native)


def test_responses_go_to_v1_responses_byte_for_byte_without_stream_options() -> None:
    c = call(RESPONSES_BODY, endpoint=Endpoint.RESPONSES, inject=True)
    c.format = Format.RESPONSES
    req = OPENAI.build_request(channel(base_url="http://mock:1"), "k", c)
    assert req.url == "http://mock:1/v1/responses"
    assert req.body is c.body
    mapped = call(RESPONSES_BODY, endpoint=Endpoint.RESPONSES, upstream_model="up", mapped=True)
    assert orjson.loads(OPENAI.build_request(channel(), "k", mapped).body) == {
        "model": "up",
        "input": "hi",
        "stream": True,
    }


def test_a_responses_effort_suffix_becomes_reasoning_effort() -> None:
    body = b'{"model":"o3-high","input":"hi","reasoning":{"summary":"auto"}}'
    c = call(body, endpoint=Endpoint.RESPONSES, upstream_model="o3-high")
    data = orjson.loads(OPENAI.build_request(channel(), "k", c).body)
    assert data["model"] == "o3"
    assert data["reasoning"] == {"summary": "auto", "effort": "high"}
    chat = call(b'{"model":"o3-high","messages":[]}', upstream_model="o3-high")
    assert OPENAI.build_request(channel(), "k", chat).body is chat.body


def test_responses_usage_and_text_are_read_by_shape() -> None:
    body = {
        "object": "response",
        "output": [
            {"type": "message", "content": [{"type": "output_text", "text": "hello"}]},
            {"type": "function_call", "name": "f", "arguments": "{}"},
        ],
        "usage": {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 4},
            "output_tokens": 6,
            "output_tokens_details": {"reasoning_tokens": 2},
            "total_tokens": 16,
        },
    }
    assert OPENAI.parse_usage(Endpoint.RESPONSES, body) == Usage(10, 6, cached_tokens=4)
    assert OPENAI.response_text(Endpoint.RESPONSES, body) == ["hello", "f", "{}"]
    chat = {"choices": [{"message": {"content": "c"}}], "usage": {"prompt_tokens": 2}}
    assert OPENAI.parse_usage(Endpoint.RESPONSES, chat) == Usage(2, 0)
    assert OPENAI.response_text(Endpoint.RESPONSES, chat) == ["c"]


def test_responses_stream_observer_is_wired() -> None:
    obs = OPENAI.stream_observer(Endpoint.RESPONSES, True, lambda _: None)
    done = (
        b'{"type":"response.completed","response":{"usage":{"input_tokens":1,"output_tokens":2}}}'
    )
    assert obs.observe(done) is True
    assert obs.usage() == Usage(1, 2)


def test_custom_channels_send_to_their_base_url_with_the_model_filled_in() -> None:
    custom = provider_for(ChannelType.CUSTOM)
    assert custom is not None
    base = "http://proxy.test/deploy/{model}/chat"
    req = custom.build_request(channel(type=8, base_url=base), "k", call(upstream_model="m-1"))
    assert req.url == "http://proxy.test/deploy/m-1/chat"
    embed = custom.build_request(
        channel(type=8, base_url="http://proxy.test/v1/embeddings"),
        "k",
        call(b'{"model":"e","input":"x"}', endpoint=Endpoint.EMBEDDINGS),
    )
    assert embed.url == "http://proxy.test/v1/embeddings"


@pytest.mark.parametrize(
    ("endpoint", "path"),
    [
        (Endpoint.CHAT, "/v1/chat/completions"),
        (Endpoint.COMPLETIONS, "/beta/completions"),
        (Endpoint.RESPONSES, "/responses"),
        (Endpoint.EMBEDDINGS, "/v1/embeddings"),
    ],
)
def test_deepseek_paths_follow_new_api(endpoint: Endpoint, path: str) -> None:
    deepseek = provider_for(ChannelType.DEEPSEEK)
    assert deepseek is not None
    req = deepseek.build_request(channel(type=43), "k", call(endpoint=endpoint))
    assert req.url == "https://api.deepseek.com" + path


def test_openrouter_requests_carry_new_apis_attribution_headers() -> None:
    openrouter = provider_for(ChannelType.OPENROUTER)
    assert openrouter is not None
    req = openrouter.build_request(channel(type=20), "k", call())
    assert req.headers["HTTP-Referer"] == "https://www.newapi.ai"
    assert req.headers["X-OpenRouter-Title"] == "New API"
    own = channel(type=20, header_override={"HTTP-Referer": "https://mine.example"})
    assert openrouter.build_request(own, "k", call()).headers["HTTP-Referer"] == (
        "https://mine.example"
    )


CLAUDE_BODY = (
    b'{"model" : "deepseek-chat", "max_tokens":64, "stream":true,'
    b' "messages":[{"role":"user","content":"hi"}]}'
)


def claude_call(body: bytes = CLAUDE_BODY, **kw: Any) -> UpstreamCall:
    c = call(body, endpoint=Endpoint.MESSAGES, upstream_model="deepseek-chat", **kw)
    c.format = Format.CLAUDE
    c.client_headers = {"anthropic-version": "2023-06-01", "anthropic-beta": "b1"}
    return c


@pytest.mark.parametrize("channel_type", list(ChannelType))
def test_claude_is_native_where_new_api_sends_it_to_the_vendors_anthropic_api(
    channel_type: ChannelType,
) -> None:
    provider = provider_for(channel_type)
    assert provider is not None
    native = {ChannelType.ANTHROPIC, ChannelType.DEEPSEEK, ChannelType.MOONSHOT, ChannelType.ALI}
    assert speaks(provider, Format.CLAUDE, "qwen-plus") is (channel_type in native)


@pytest.mark.parametrize(
    ("channel_type", "url"),
    [
        (ChannelType.DEEPSEEK, "https://api.deepseek.com/anthropic/v1/messages"),
        (ChannelType.MOONSHOT, "https://api.moonshot.cn/anthropic/v1/messages"),
    ],
)
def test_a_claude_call_goes_as_it_is_with_the_bearer_key(
    channel_type: ChannelType, url: str
) -> None:
    provider = provider_for(channel_type)
    assert provider is not None
    c = claude_call()
    req = provider.build_request(channel(type=int(channel_type)), "sk-v", c)
    assert req.url == url
    assert req.body is c.body
    assert req.headers == {
        "Authorization": "Bearer sk-v",
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "b1",
    }


def test_a_claude_call_follows_new_apis_claude_rules_and_channel_settings() -> None:
    deepseek = provider_for(ChannelType.DEEPSEEK)
    assert deepseek is not None
    no_max = b'{"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}]}'
    sent = orjson.loads(deepseek.build_request(channel(type=43), "k", claude_call(no_max)).body)
    assert sent["max_tokens"] > 0  # claude.default_max_tokens, as for Anthropic channels
    mapped = claude_call(mapped=True)
    mapped.upstream_model = "deepseek-reasoner"
    override = channel(type=43, param_override={"temperature": 0.1}, header_override={"X-A": "1"})
    req = deepseek.build_request(override, "k", mapped)
    assert orjson.loads(req.body)["model"] == "deepseek-reasoner"
    assert orjson.loads(req.body)["temperature"] == 0.1
    assert req.headers["X-A"] == "1"
    assert "x-api-key" not in req.headers


def test_claude_answers_are_read_with_anthropic_usage() -> None:
    deepseek = provider_for(ChannelType.DEEPSEEK)
    assert deepseek is not None
    answer = {
        "type": "message",
        "content": [{"type": "text", "text": "hello"}],
        "usage": {"input_tokens": 5, "output_tokens": 2, "cache_read_input_tokens": 3},
    }
    usage = deepseek.parse_usage(Endpoint.MESSAGES, answer)
    assert usage is not None and usage.anthropic
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens) == (5, 2, 3)
    assert deepseek.response_text(Endpoint.MESSAGES, answer) == ["hello"]
    chat = {"choices": [{"message": {"content": "c"}}], "usage": {"prompt_tokens": 2}}
    assert deepseek.parse_usage(Endpoint.MESSAGES, chat) == Usage(2, 0)  # went up as Chat
    observer = deepseek.stream_observer(Endpoint.MESSAGES, True, lambda _: None)
    assert isinstance(observer, ClaudeStreamObserver)


@pytest.mark.parametrize(
    ("channel_type", "stream", "dropped"),
    [
        (ChannelType.MISTRAL, True, True),  # the vendor takes no stream_options
        (ChannelType.CUSTOM, True, True),
        (ChannelType.OPENAI, False, True),  # the call does not stream
        (ChannelType.OPENAI, True, False),
    ],
)
def test_stream_options_are_dropped_as_new_api_does(
    channel_type: ChannelType, stream: bool, dropped: bool
) -> None:
    provider = provider_for(channel_type)
    assert provider is not None
    body = b'{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]}'
    c = call(body, stream=stream, upstream_model="m")
    req = provider.build_request(channel(type=int(channel_type), base_url="http://x"), "k", c)
    if dropped:
        assert orjson.loads(req.body) == {"model": "m", "stream": True, "messages": []}
    else:
        assert req.body is c.body
    responses = call(body, endpoint=Endpoint.RESPONSES, stream=stream, upstream_model="m")
    assert provider.build_request(channel(base_url="http://x"), "k", responses).body is body
