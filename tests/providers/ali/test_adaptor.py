"""relay.providers.ali.adaptor: DashScope's compatible-mode URLs, headers and body rules."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from upstream_calls import upstream_call

from relay.options import Options
from relay.providers.ali.adaptor import DashScope, dashscope_payload, is_qwen_thinking_budget_model
from relay.providers.base import Endpoint, Format, UpstreamCall, speaks
from relay.providers.registry import ChannelType, build_providers, provider_for
from relay.routing import Channel
from relay.settings import Settings

ALI = provider_for(ChannelType.ALI)
BODY = b'{"model" : "qwen-plus",  "messages":[{"role":"user","content":"hi"}]}'


def channel(**kw: Any) -> Channel:
    return Channel(**{"id": 1, "type": 17, "name": "ali", "keys": ("sk-ds",), **kw})


def call(body: bytes = BODY, **kw: Any) -> UpstreamCall:
    return upstream_call(body, **{"upstream_model": "qwen-plus", "stream": False, **kw})


def test_chat_goes_to_compatible_mode_with_the_bearer_key() -> None:
    assert isinstance(ALI, DashScope)
    req = ALI.build_request(channel(), "sk-ds", call())
    assert req.url == "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"
    assert req.headers == {"Authorization": "Bearer sk-ds", "Content-Type": "application/json"}
    assert req.body is BODY


@pytest.mark.parametrize(
    ("endpoint", "path"),
    [
        (Endpoint.EMBEDDINGS, "/compatible-mode/v1/embeddings"),
        (Endpoint.COMPLETIONS, "/compatible-mode/v1/completions"),
        (Endpoint.RESPONSES, "/api/v2/apps/protocols/compatible-mode/v1/responses"),
    ],
)
def test_other_endpoints_use_new_api_paths(endpoint: Endpoint, path: str) -> None:
    req = ALI.build_request(channel(base_url="http://mock:9"), "k", call(endpoint=endpoint))
    assert req.url == "http://mock:9" + path


def test_streams_ask_for_sse_usage_and_the_plugin_header() -> None:
    req = ALI.build_request(channel(other="pre-plugin"), "k", call(stream=True, inject=True))
    assert req.headers["X-DashScope-SSE"] == "enable"
    assert req.headers["X-DashScope-Plugin"] == "pre-plugin"
    assert orjson.loads(req.body)["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(("top_p", "sent"), [(1, 0.99), (1.5, 0.99), (0, 0.01), (-1, 0.01)])
def test_top_p_is_clamped_into_the_open_interval(top_p: float, sent: float) -> None:
    body = orjson.dumps({"model": "qwen-plus", "messages": [], "top_p": top_p})
    assert orjson.loads(ALI.build_request(channel(), "k", call(body)).body)["top_p"] == sent


def test_top_p_inside_the_interval_and_absent_top_p_are_left_alone() -> None:
    assert dashscope_payload({"top_p": 0.5}, "qwen-plus") is None
    assert dashscope_payload({"messages": []}, "qwen-plus") is None


def test_thinking_budget_is_only_for_qwen_models() -> None:
    assert dashscope_payload({"thinking_budget": 64}, "qwen3-32b") is None
    assert dashscope_payload({"thinking_budget": 64, "x": 1}, "deepseek-v3") == {"x": 1}
    body = b'{"model":"deepseek-r1","messages":[],"thinking_budget":64}'
    sent = orjson.loads(
        ALI.build_request(channel(), "k", call(body, upstream_model="deepseek-r1")).body
    )
    assert "thinking_budget" not in sent


@pytest.mark.parametrize(
    ("model", "yes"),
    [("qwen-max", True), ("QwQ-32B", True), ("org/qwen2", True), ("deepseek-v3", False)],
)
def test_qwen_thinking_budget_models(model: str, yes: bool) -> None:
    assert is_qwen_thinking_budget_model(model) is yes


def test_pass_through_channels_send_the_body_untouched() -> None:
    c = call(b'{"model":"qwen-plus","messages":[],"top_p":1}')
    c.pass_through = True
    assert ALI.build_request(channel(), "k", c).body is c.body


CLAUDE_BODY = b'{"model":"qwen-plus","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}'


@pytest.mark.parametrize(
    ("model", "yes"),
    [
        ("qwen-plus", True),
        (" Qwen3-Max ", True),
        ("deepseek-v4-flash", True),
        ("moonshot/kimi-k2", True),
        ("glm-4.6", True),
        ("MiniMax-M2", True),
        ("deepseek-v3", False),
        ("", False),
    ],
)
def test_claude_goes_native_for_new_apis_anthropic_messages_models(model: str, yes: bool) -> None:
    assert ALI is not None
    assert speaks(ALI, Format.CLAUDE, model) is yes


def test_the_anthropic_models_come_from_the_setting() -> None:
    own = build_providers(
        Options.from_rows({}), Settings(ali_anthropic_messages_models=("deepseek-v3",))
    )[ChannelType.ALI]
    assert speaks(own, Format.CLAUDE, "deepseek-v3")
    assert not speaks(own, Format.CLAUDE, "qwen-plus")


def test_a_claude_call_goes_to_the_anthropic_app_with_dashscope_headers() -> None:
    assert ALI is not None
    c = call(CLAUDE_BODY, endpoint=Endpoint.MESSAGES, stream=True)
    c.format = Format.CLAUDE
    req = ALI.build_request(channel(other="web"), "sk-ds", c)
    assert req.url == "https://dashscope.aliyuncs.com/apps/anthropic/v1/messages"
    assert req.body is c.body
    assert req.headers["Authorization"] == "Bearer sk-ds"
    assert req.headers["X-DashScope-SSE"] == "enable"
    assert req.headers["X-DashScope-Plugin"] == "web"
    assert req.headers["anthropic-version"] == "2023-06-01"  # Anthropic's default
