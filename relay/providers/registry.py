"""Channel type → provider. Adding a provider: one new package and one line here.

`PROVIDERS` holds the providers with new-api's default settings (what a channel type is);
`build_providers` makes the table a worker uses, from the options table and the environment,
each time the catalog is reloaded, so providers never read options per request."""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum

from relay.convert.claude_request import ClaudeOptions
from relay.convert.gemini_common import GeminiOptions
from relay.options import Options
from relay.providers.ali.adaptor import PATHS as DASHSCOPE_PATHS
from relay.providers.ali.adaptor import DashScope
from relay.providers.anthropic.adaptor import Anthropic
from relay.providers.azure.adaptor import Azure
from relay.providers.base import Endpoint, Provider
from relay.providers.gemini.adaptor import Gemini
from relay.providers.openai.adaptor import OpenAICompatible, Vendor
from relay.settings import Settings

DEFAULTS = Settings()


class ChannelType(IntEnum):
    """new-api's channel type ids for the upstreams relay speaks to."""

    OPENAI = 1
    AZURE = 3
    OLLAMA = 4
    CUSTOM = 8
    ANTHROPIC = 14
    ALI = 17
    OPENROUTER = 20
    GEMINI = 24
    MOONSHOT = 25
    JINA = 38  # rerank and embeddings only
    SILICONFLOW = 40
    MISTRAL = 42
    DEEPSEEK = 43
    XAI = 48


# OpenAI-compatible vendors are rows of data, not classes. stream_options follows new-api's
# list of channel types known to accept it; `responses` its list of those whose adaptor sends
# /v1/responses upstream as it is (the others answer Responses clients through Chat);
# `claude_path` where new-api's adaptor sends a Claude client's call as it is.
_OPENAI_COMPATIBLE: dict[ChannelType, Vendor] = {
    ChannelType.OPENAI: Vendor("OpenAI", "https://api.openai.com", True, responses=True),
    ChannelType.OLLAMA: Vendor("Ollama", "http://localhost:11434", True),
    ChannelType.CUSTOM: Vendor("Custom", "", False, responses=True, full_url=True),
    ChannelType.OPENROUTER: Vendor(
        "OpenRouter",
        "https://openrouter.ai/api",
        False,
        responses=True,
        headers={"HTTP-Referer": "https://www.newapi.ai", "X-OpenRouter-Title": "New API"},
    ),
    ChannelType.MOONSHOT: Vendor(
        "Moonshot", "https://api.moonshot.cn", True, claude_path="/anthropic/v1/messages"
    ),
    ChannelType.JINA: Vendor("Jina", "https://api.jina.ai", False),
    ChannelType.SILICONFLOW: Vendor("SiliconFlow", "https://api.siliconflow.cn", True),
    ChannelType.MISTRAL: Vendor("Mistral", "https://api.mistral.ai", False),
    ChannelType.DEEPSEEK: Vendor(
        "DeepSeek",
        "https://api.deepseek.com",
        True,
        responses=True,
        paths={Endpoint.COMPLETIONS: "/beta/completions", Endpoint.RESPONSES: "/responses"},
        claude_path="/anthropic/v1/messages",
    ),
    ChannelType.XAI: Vendor("xAI", "https://api.x.ai", True, responses=True),
}
_AZURE = Vendor("Azure", "", True, responses=True)
_ALI = Vendor(
    "Ali",
    "https://dashscope.aliyuncs.com",
    True,
    True,
    DASHSCOPE_PATHS,
    claude_path="/apps/anthropic/v1/messages",  # for ALI_ANTHROPIC_MESSAGES_MODELS
)


def claude_options(options: Options) -> ClaudeOptions:
    return ClaudeOptions(
        default_max_tokens=options["claude.default_max_tokens"],
        thinking_adapter_enabled=options["claude.thinking_adapter_enabled"],
        thinking_budget_percentage=options["claude.thinking_adapter_budget_tokens_percentage"],
        model_headers=options["claude.model_headers_settings"],
    )


def gemini_options(options: Options) -> GeminiOptions:
    return GeminiOptions(
        safety_settings=options["gemini.safety_settings"],
        function_call_thought_signature=options["gemini.function_call_thought_signature_enabled"],
        thinking_adapter=options["gemini.thinking_adapter_enabled"],
        thinking_budget_percentage=options["gemini.thinking_adapter_budget_tokens_percentage"],
        imagine_models=options["gemini.supported_imagine_models"],
        version_settings=options["gemini.version_settings"],
    )


def build_providers(options: Options, settings: Settings = DEFAULTS) -> Mapping[int, Provider]:
    """Every channel type's provider, configured by the claude.* / gemini.* options,
    AZURE_DEFAULT_API_VERSION and ALI_ANTHROPIC_MESSAGES_MODELS."""
    claude = claude_options(options)  # also for the vendors' Anthropic-compatible APIs
    return {
        **{int(t): OpenAICompatible(vendor, claude) for t, vendor in _OPENAI_COMPATIBLE.items()},
        int(ChannelType.AZURE): Azure(_AZURE, settings.azure_default_api_version),
        int(ChannelType.ALI): DashScope(_ALI, claude, settings.ali_anthropic_messages_models),
        int(ChannelType.ANTHROPIC): Anthropic(claude),
        int(ChannelType.GEMINI): Gemini(gemini_options(options)),
    }


PROVIDERS: Mapping[int, Provider] = build_providers(Options.from_rows({}))


def provider_for(channel_type: int) -> Provider | None:
    """The provider of a channel type with default settings (names, URLs, capabilities)."""
    return PROVIDERS.get(channel_type)
