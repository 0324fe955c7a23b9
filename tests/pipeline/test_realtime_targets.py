"""relay.pipeline.realtime_targets: how a channel's realtime endpoint is dialled."""

from __future__ import annotations

from relay.pipeline.realtime_targets import TARGETS, azure_target, openai_target
from relay.providers.registry import ChannelType
from relay.routing import Channel


def channel(type: int = ChannelType.OPENAI, **fields: object) -> Channel:
    return Channel(id=1, type=type, name="c", keys=("sk-up",), **fields)


def test_openai_gets_the_mapped_model_and_the_clients_other_query() -> None:
    t = openai_target(channel(), "sk-up", "gpt-realtime", {"intent": "chat"}, False)
    assert t.url == "wss://api.openai.com/v1/realtime?intent=chat&model=gpt-realtime"
    assert t.headers == {"Authorization": "Bearer sk-up"} and t.protocols == ()


def test_an_http_base_becomes_ws_and_organization_is_sent() -> None:
    c = channel(base_url="http://10.0.0.5:8080", organization="org-1")
    t = openai_target(c, "sk-up", "gpt-realtime", {}, False)
    assert t.url == "ws://10.0.0.5:8080/v1/realtime?model=gpt-realtime"
    assert t.headers["OpenAI-Organization"] == "org-1"


def test_legacy_preview_models_get_the_beta_header() -> None:
    t = openai_target(channel(), "sk-up", "gpt-4o-realtime-preview", {}, False)
    assert t.headers["OpenAI-Beta"] == "realtime=v1"


def test_a_subprotocol_client_makes_a_subprotocol_upstream() -> None:
    t = openai_target(channel(), "sk-up", "gpt-4o-realtime-preview", {}, True)
    assert t.protocols == ("realtime", "openai-insecure-api-key.sk-up", "openai-beta.realtime-v1")
    assert "Authorization" not in t.headers and "OpenAI-Beta" not in t.headers
    ga = openai_target(channel(), "sk-up", "gpt-realtime", {}, True)
    assert ga.protocols == ("realtime", "openai-insecure-api-key.sk-up")


def test_custom_channels_use_their_base_url_as_the_whole_url() -> None:
    c = channel(ChannelType.CUSTOM, base_url="https://gw.example/rt/{model}/ws")
    t = openai_target(c, "sk-up", "m1", {"x": "1"}, False)
    assert t.url == "wss://gw.example/rt/m1/ws"


def test_header_override_wins_and_may_carry_the_key() -> None:
    c = channel(header_override={"authorization": "Token {api_key}", "X-Extra": "1"})
    t = openai_target(c, "sk-up", "gpt-realtime", {}, False)
    assert t.headers == {"authorization": "Token sk-up", "X-Extra": "1"}


def test_azure_dials_the_deployment_with_the_api_version_and_api_key() -> None:
    c = channel(ChannelType.AZURE, base_url="https://res.openai.azure.com", other="2024-10-01")
    t = azure_target(c, "az-key", "gpt-4o-realtime-preview", {}, True, "2025-04-01-preview")
    assert t.url == (
        "wss://res.openai.azure.com/openai/realtime"
        "?deployment=gpt-4o-realtime-preview&api-version=2024-10-01"
    )
    assert t.headers == {"api-key": "az-key"} and t.protocols == ()
    asked = azure_target(c, "az-key", "gpt-realtime", {"api-version": "v9"}, False, "d")
    assert asked.url.endswith("deployment=gpt-realtime&api-version=v9")
    default = azure_target(
        channel(ChannelType.AZURE, base_url="https://r"), "k", "m", {}, False, "d"
    )
    assert default.url == "wss://r/openai/realtime?deployment=m&api-version=d"


def test_the_openai_family_and_azure_serve_realtime() -> None:
    assert set(TARGETS) == {ChannelType.OPENAI, ChannelType.CUSTOM, ChannelType.AZURE}
