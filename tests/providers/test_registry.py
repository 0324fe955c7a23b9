"""relay.providers.registry: channel types to providers."""

from __future__ import annotations

import pytest

from relay.convert.claude_request import ClaudeOptions
from relay.convert.gemini_common import GeminiOptions
from relay.options import Options
from relay.providers.anthropic.adaptor import Anthropic
from relay.providers.azure.adaptor import Azure
from relay.providers.base import Format, Provider
from relay.providers.gemini.adaptor import Gemini
from relay.providers.openai.adaptor import OpenAICompatible
from relay.providers.registry import PROVIDERS, ChannelType, build_providers, provider_for
from relay.settings import Settings

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
        "AZURE": 3,
        "OLLAMA": 4,
        "CUSTOM": 8,
        "ANTHROPIC": 14,
        "ALI": 17,
        "OPENROUTER": 20,
        "GEMINI": 24,
        "MOONSHOT": 25,
        "JINA": 38,
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
        if vendor.name not in ("Custom", "Azure"):  # their base URL is the channel's own
            assert vendor.base_url.startswith(("https://", "http://"))
            assert not vendor.base_url.endswith("/")


def test_build_providers_configures_claude_and_gemini_from_the_options() -> None:
    options = Options.from_rows(
        {
            "claude.default_max_tokens": '{"default": 100, "claude-big": 64000}',
            "claude.thinking_adapter_enabled": "false",
            "claude.thinking_adapter_budget_tokens_percentage": "0.5",
            "claude.model_headers_settings": '{"claude-x": {"anthropic-beta": ["b1"]}}',
            "gemini.safety_settings": '{"default": "BLOCK_NONE"}',
            "gemini.version_settings": '{"default": "v1"}',
            "gemini.supported_imagine_models": '["img-model"]',
            "gemini.thinking_adapter_enabled": "true",
            "gemini.thinking_adapter_budget_tokens_percentage": "0.3",
            "gemini.function_call_thought_signature_enabled": "false",
        }
    )
    providers = build_providers(options, Settings(azure_default_api_version="2024-10-21"))
    claude = providers[ChannelType.ANTHROPIC]
    assert isinstance(claude, Anthropic)
    assert claude.options.max_tokens_for("claude-big") == 64000
    assert claude.options.max_tokens_for("other") == 100
    assert not claude.options.thinking_adapter_enabled
    assert claude.options.thinking_budget_percentage == 0.5
    assert claude.options.model_headers == {"claude-x": {"anthropic-beta": ("b1",)}}
    gemini = providers[ChannelType.GEMINI]
    assert isinstance(gemini, Gemini)
    assert gemini.options.safety_threshold("HARM_CATEGORY_HARASSMENT") == "BLOCK_NONE"
    assert gemini.options.api_version("gemini-2.5-pro") == "v1"
    assert gemini.options.imagine_models == ("img-model",)
    assert gemini.options.thinking_adapter and gemini.options.thinking_budget_percentage == 0.3
    assert not gemini.options.function_call_thought_signature
    azure = providers[ChannelType.AZURE]
    assert isinstance(azure, Azure) and azure.default_api_version == "2024-10-21"
    assert set(providers) == set(PROVIDERS)


def test_default_providers_carry_new_api_defaults() -> None:
    claude = provider_for(ChannelType.ANTHROPIC)
    assert isinstance(claude, Anthropic)
    assert claude.options == ClaudeOptions()
    gemini = provider_for(ChannelType.GEMINI)
    assert isinstance(gemini, Gemini) and gemini.options == GeminiOptions()
