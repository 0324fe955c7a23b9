"""Channel type → provider. Adding a provider: one new package and one line here."""

from __future__ import annotations

from enum import IntEnum

from relay.providers.anthropic.adaptor import Anthropic
from relay.providers.base import Provider
from relay.providers.gemini.adaptor import Gemini
from relay.providers.openai.adaptor import OpenAICompatible, Vendor


class ChannelType(IntEnum):
    """new-api's channel type ids for the upstreams relay speaks to."""

    OPENAI = 1
    OLLAMA = 4
    CUSTOM = 8
    ANTHROPIC = 14
    OPENROUTER = 20
    GEMINI = 24
    MOONSHOT = 25
    SILICONFLOW = 40
    MISTRAL = 42
    DEEPSEEK = 43
    XAI = 48


# OpenAI-compatible vendors are rows of data, not classes. stream_options follows new-api's
# list of channel types known to accept it; `responses` its list of those whose adaptor sends
# /v1/responses upstream as it is (the others answer Responses clients through Chat).
_OPENAI_COMPATIBLE: dict[ChannelType, Vendor] = {
    ChannelType.OPENAI: Vendor("OpenAI", "https://api.openai.com", True, responses=True),
    ChannelType.OLLAMA: Vendor("Ollama", "http://localhost:11434", True),
    ChannelType.CUSTOM: Vendor("Custom", "", False, responses=True),
    ChannelType.OPENROUTER: Vendor(
        "OpenRouter", "https://openrouter.ai/api", False, responses=True
    ),
    ChannelType.MOONSHOT: Vendor("Moonshot", "https://api.moonshot.cn", True),
    ChannelType.SILICONFLOW: Vendor("SiliconFlow", "https://api.siliconflow.cn", True),
    ChannelType.MISTRAL: Vendor("Mistral", "https://api.mistral.ai", False),
    ChannelType.DEEPSEEK: Vendor("DeepSeek", "https://api.deepseek.com", True, responses=True),
    ChannelType.XAI: Vendor("xAI", "https://api.x.ai", True, responses=True),
}

PROVIDERS: dict[int, Provider] = {
    **{int(t): OpenAICompatible(vendor) for t, vendor in _OPENAI_COMPATIBLE.items()},
    ChannelType.ANTHROPIC: Anthropic(),
    ChannelType.GEMINI: Gemini(),
}


def provider_for(channel_type: int) -> Provider | None:
    return PROVIDERS.get(channel_type)
