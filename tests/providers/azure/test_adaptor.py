"""relay.providers.azure.adaptor: deployment URLs, api-version, the api-key header."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from upstream_calls import upstream_call

from relay.providers.azure.adaptor import NO_REMOVE_DOT_TIME, Azure, deployment_name
from relay.providers.base import Endpoint, Format, UpstreamCall, speaks
from relay.providers.openai.adaptor import Vendor
from relay.providers.registry import ChannelType, provider_for
from relay.routing import Channel

AZURE = Azure(Vendor("Azure", "", True, responses=True), "2025-04-01-preview")
BASE = "https://res.openai.azure.com"
BODY = b'{"model" : "gpt-4.1",  "messages":[{"role":"user","content":"hi"}]}'


def channel(**kw: Any) -> Channel:
    return Channel(
        **{"id": 1, "type": 3, "name": "az", "keys": ("az-key",), "base_url": BASE, **kw}
    )


def call(body: bytes = BODY, **kw: Any) -> UpstreamCall:
    return upstream_call(body, **{"upstream_model": "gpt-4.1", "stream": False, **kw})


def test_chat_goes_to_the_deployment_with_the_api_key_header() -> None:
    req = AZURE.build_request(channel(created_time=NO_REMOVE_DOT_TIME), "az-key", call())
    assert (
        req.url
        == f"{BASE}/openai/deployments/gpt-4.1/chat/completions?api-version=2025-04-01-preview"
    )
    assert req.headers == {"api-key": "az-key", "Content-Type": "application/json"}
    assert req.body is BODY  # the OpenAI body goes up as it is


def test_the_channel_other_column_is_the_api_version() -> None:
    req = AZURE.build_request(channel(other=" 2024-10-21 "), "k", call())
    assert req.url.endswith("/chat/completions?api-version=2024-10-21")


@pytest.mark.parametrize(
    ("created", "model", "deployment"),
    [
        (NO_REMOVE_DOT_TIME - 1, "gpt-3.5-turbo", "gpt-35-turbo"),
        (0, "gpt-4.1-mini", "gpt-41-mini"),
        (NO_REMOVE_DOT_TIME, "gpt-3.5-turbo", "gpt-3.5-turbo"),
    ],
)
def test_dots_leave_the_deployment_of_channels_created_before_2025_05_10(
    created: int, model: str, deployment: str
) -> None:
    assert deployment_name(model, created) == deployment
    req = AZURE.build_request(channel(created_time=created), "k", call(upstream_model=model))
    assert f"/openai/deployments/{deployment}/chat/completions?" in req.url


def test_embeddings_and_completions_use_their_task_path() -> None:
    embed = AZURE.build_request(
        channel(other="2024-02-01"),
        "k",
        call(b'{"model":"text-embedding-3-small","input":"x"}', endpoint=Endpoint.EMBEDDINGS,
             upstream_model="text-embedding-3-small"),
    )  # fmt: skip
    assert embed.url == (
        f"{BASE}/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-02-01"
    )
    text = AZURE.build_request(
        channel(),
        "k",
        call(b'{"model":"m","prompt":"x"}', endpoint=Endpoint.COMPLETIONS, upstream_model="m"),
    )
    assert "/openai/deployments/m/completions?api-version=" in text.url


def test_responses_use_the_v1_route_with_preview_or_the_channel_setting() -> None:
    body = b'{"model":"gpt-4.1","input":"hi"}'
    c = call(body, endpoint=Endpoint.RESPONSES)
    assert AZURE.build_request(channel(), "k", c).url == (
        f"{BASE}/openai/v1/responses?api-version=preview"
    )
    pinned = channel(other_settings={"azure_responses_version": "2025-03-01-preview"})
    assert AZURE.build_request(pinned, "k", c).url.endswith("?api-version=2025-03-01-preview")
    foundry = channel(base_url="https://res.cognitiveservices.azure.com", other="2025-01-01")
    assert AZURE.build_request(foundry, "k", c).url == (
        "https://res.cognitiveservices.azure.com/openai/responses?api-version=2025-01-01"
    )


def test_a_cloudflare_gateway_base_drops_the_deployments_prefix() -> None:
    gateway = "https://gateway.ai.cloudflare.com/v1/acct/gw/azure-openai/res"
    req = AZURE.build_request(
        channel(base_url=gateway, created_time=NO_REMOVE_DOT_TIME), "k", call()
    )
    assert req.url == f"{gateway}/gpt-4.1/chat/completions?api-version=2025-04-01-preview"


def test_streams_take_stream_options_and_header_override_applies_last() -> None:
    c = call(stream=True, inject=True)
    over = channel(header_override={"X-Trace": "{api_key}-t"}, organization="org-1")
    req = AZURE.build_request(over, "k1", c)
    assert req.headers == {
        "api-key": "k1",
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
        "X-Trace": "k1-t",
    }  # no Authorization, no OpenAI-Organization
    assert orjson.loads(req.body)["stream_options"] == {"include_usage": True}


def test_azure_is_registered_and_reads_openai_responses() -> None:
    provider = provider_for(ChannelType.AZURE)
    assert isinstance(provider, Azure) and provider.native is Format.OPENAI
    assert speaks(provider, Format.RESPONSES) and provider.injects_usage()
    usage = provider.parse_usage(
        Endpoint.CHAT, {"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2}}
    )
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (4, 2)


def test_the_clients_api_version_query_wins_over_the_channels() -> None:
    asked = call()
    asked.client_query = {"api-version": "2024-06-01"}
    req = AZURE.build_request(channel(other="2024-10-21"), "k", asked)
    assert req.url.endswith("/chat/completions?api-version=2024-06-01")
    foundry = call(endpoint=Endpoint.RESPONSES)
    foundry.client_query = {"api-version": "2025-03-01-preview"}
    base = "https://res.cognitiveservices.azure.com"
    req = AZURE.build_request(channel(base_url=base), "k", foundry)
    assert req.url == f"{base}/openai/responses?api-version=2025-03-01-preview"
    sneaky = call()
    sneaky.client_query = {"api-version": "v1&deployment=x"}
    assert AZURE.build_request(channel(), "k", sneaky).url.endswith(
        "?api-version=v1%26deployment%3Dx"
    )
