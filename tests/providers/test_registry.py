"""relay.providers.registry: channel types to providers."""

from __future__ import annotations

import pytest

from relay.providers.anthropic.adaptor import Anthropic
from relay.providers.base import Format, Provider
from relay.providers.gemini.adaptor import Gemini
from relay.providers.openai.adaptor import OpenAICompatible
from relay.providers.registry import PROVIDERS, ChannelType, provider_for

_METHODS = (
    "build_request",
    "parse_usage",
    "stream_observer",
    "response_text",
    "response_to_pivot",
    "stream_to_pivot",
)


@pytest.mark.parametrize("channel_type", list(ChannelType))
def test_every_channel_type_resolves_to_a_provider(channel_type: ChannelType) -> None:
    provider = provider_for(channel_type)
    assert provider is not None
    assert provider is provider_for(int(channel_type))  # shared, stateless
    assert isinstance(provider.native, Format)
    for method in _METHODS:
        assert callable(getattr(provider, method))


def test_anthropic_is_the_claude_native_provider() -> None:
    provider = provider_for(ChannelType.ANTHROPIC)
    assert isinstance(provider, Anthropic) and provider.native is Format.CLAUDE
    gemini = provider_for(ChannelType.GEMINI)
    assert isinstance(gemini, Gemini) and gemini.native is Format.GEMINI
    natives = (ChannelType.ANTHROPIC, ChannelType.GEMINI)
    others = [provider_for(t) for t in ChannelType if t not in natives]
    assert all(isinstance(p, OpenAICompatible) and p.native is Format.OPENAI for p in others)


def test_new_api_channel_type_ids() -> None:
    assert {t.name: int(t) for t in ChannelType} == {
        "OPENAI": 1,
        "OLLAMA": 4,
        "CUSTOM": 8,
        "ANTHROPIC": 14,
        "OPENROUTER": 20,
        "GEMINI": 24,
        "MOONSHOT": 25,
        "SILICONFLOW": 40,
        "MISTRAL": 42,
        "DEEPSEEK": 43,
        "XAI": 48,
    }
    assert set(PROVIDERS) == {int(t) for t in ChannelType}


@pytest.mark.parametrize("unknown", [0, 2, 15, 999, -1])
def test_unknown_types_have_no_provider(unknown: int) -> None:
    assert provider_for(unknown) is None


def test_vendors_have_distinct_names_and_custom_has_no_default_url() -> None:
    providers: list[Provider] = [p for t in ChannelType if (p := provider_for(t)) is not None]
    vendors = [p.vendor for p in providers if isinstance(p, OpenAICompatible)]
    assert len({v.name for v in vendors}) == len(vendors) == len(ChannelType) - 2
    custom = provider_for(ChannelType.CUSTOM)
    assert isinstance(custom, OpenAICompatible) and custom.vendor.base_url == ""
    for vendor in vendors:
        if vendor.name != "Custom":
            assert vendor.base_url.startswith(("https://", "http://"))
            assert not vendor.base_url.endswith("/")
