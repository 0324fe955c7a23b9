"""relay.providers.registry: channel types to providers."""

from __future__ import annotations

import pytest

from relay.providers.base import Provider
from relay.providers.openai.adaptor import OpenAICompatible
from relay.providers.registry import PROVIDERS, ChannelType, provider_for


@pytest.mark.parametrize("channel_type", list(ChannelType))
def test_every_channel_type_resolves_to_a_provider(channel_type: ChannelType) -> None:
    provider = provider_for(channel_type)
    assert provider is not None
    assert provider is provider_for(int(channel_type))  # shared, stateless
    assert isinstance(provider, OpenAICompatible)
    for method in ("build_request", "parse_usage", "stream_observer", "response_text"):
        assert callable(getattr(provider, method))


def test_new_api_channel_type_ids() -> None:
    assert {t.name: int(t) for t in ChannelType} == {
        "OPENAI": 1,
        "OLLAMA": 4,
        "CUSTOM": 8,
        "OPENROUTER": 20,
        "MOONSHOT": 25,
        "SILICONFLOW": 40,
        "MISTRAL": 42,
        "DEEPSEEK": 43,
        "XAI": 48,
    }
    assert set(PROVIDERS) == {int(t) for t in ChannelType}


@pytest.mark.parametrize("unknown", [0, 2, 14, 999, -1])
def test_unknown_types_have_no_provider(unknown: int) -> None:
    assert provider_for(unknown) is None


def test_vendors_have_distinct_names_and_custom_has_no_default_url() -> None:
    providers: list[Provider] = [p for t in ChannelType if (p := provider_for(t)) is not None]
    names = [p.vendor.name for p in providers if isinstance(p, OpenAICompatible)]
    assert len(set(names)) == len(ChannelType)
    custom = provider_for(ChannelType.CUSTOM)
    assert isinstance(custom, OpenAICompatible) and custom.vendor.base_url == ""
    for t in ChannelType:
        p = provider_for(t)
        assert isinstance(p, OpenAICompatible)
        if t is not ChannelType.CUSTOM:
            assert p.vendor.base_url.startswith(("https://", "http://"))
            assert not p.vendor.base_url.endswith("/")
