"""The DashScope provider: OpenAI's wire format under /compatible-mode/v1, as new-api's Ali
adaptor sends chat, completions and embeddings (Responses: its /api/v2 compatible-mode app).
A Claude client's call for a model named in ALI_ANTHROPIC_MESSAGES_MODELS goes as it is to
DashScope's Anthropic-compatible API (the registry row's `claude_path`).

new-api's request rules: `thinking_budget` only for Qwen/QwQ models, and an explicit `top_p`
clamped into DashScope's open interval (0, 1) at two decimals; streams ask for SSE with
X-DashScope-SSE, and the channel's `other` names a plugin (X-DashScope-Plugin).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from relay.convert.claude_request import ClaudeOptions
from relay.providers.base import Endpoint, UpstreamCall
from relay.providers.openai.adaptor import OpenAICompatible, Vendor
from relay.routing import Channel
from relay.settings import DEFAULT_ALI_ANTHROPIC_MESSAGES_MODELS

PATHS = {
    Endpoint.CHAT: "/compatible-mode/v1/chat/completions",
    Endpoint.COMPLETIONS: "/compatible-mode/v1/completions",
    Endpoint.EMBEDDINGS: "/compatible-mode/v1/embeddings",
    Endpoint.RESPONSES: "/api/v2/apps/protocols/compatible-mode/v1/responses",
}
_TOP_P_MAX, _TOP_P_MIN = 0.99, 0.01
# The endpoints whose bodies go through new-api's ConvertOpenAIRequest (requestOpenAI2Ali).
_GENERAL_REQUESTS = frozenset({Endpoint.CHAT, Endpoint.COMPLETIONS})


def is_qwen_thinking_budget_model(model: str) -> bool:
    """new-api's IsQwenThinkingBudgetModel."""
    name = model.strip().lower()
    return name.startswith(("qwen", "qwq")) or "/qwen" in name or "/qwq" in name


def dashscope_payload(payload: dict[str, Any], model: str) -> dict[str, Any] | None:
    """The chat payload new-api's requestOpenAI2Ali sends, or None when it is unchanged."""
    changes: dict[str, Any] = {}
    top_p = payload.get("top_p")
    if isinstance(top_p, int | float) and not isinstance(top_p, bool):
        if top_p >= 1:
            changes["top_p"] = _TOP_P_MAX
        elif top_p <= 0:
            changes["top_p"] = _TOP_P_MIN
    drop = "thinking_budget" in payload and not is_qwen_thinking_budget_model(model)
    if not changes and not drop:
        return None
    out = {k: v for k, v in payload.items() if not (drop and k == "thinking_budget")}
    out.update(changes)
    return out


class DashScope(OpenAICompatible):
    """Stateless and shared by all requests; `claude_models` are ALI_ANTHROPIC_MESSAGES_MODELS."""

    def __init__(
        self,
        vendor: Vendor,
        claude: ClaudeOptions | None = None,
        claude_models: tuple[str, ...] = DEFAULT_ALI_ANTHROPIC_MESSAGES_MODELS,
    ) -> None:
        super().__init__(vendor, claude)
        self.claude_models = claude_models

    def speaks_claude(self, model: str) -> bool:
        """new-api's supportsAliAnthropicMessages: the model's name contains a pattern."""
        name = model.strip().lower()
        return super().speaks_claude(model) and any(p in name for p in self.claude_models)

    def _body(self, channel: Channel, call: UpstreamCall) -> bytes:
        if call.endpoint in _GENERAL_REQUESTS and not call.pass_through:
            adjusted = dashscope_payload(call.payload, call.upstream_model)
            if adjusted is not None:
                call = dataclasses.replace(call, payload=adjusted, body=orjson.dumps(adjusted))
        return super()._body(channel, call)

    def _headers(self, channel: Channel, key: str, call: UpstreamCall) -> dict[str, str]:
        headers = super()._headers(channel, key, call)
        if call.stream:
            headers["X-DashScope-SSE"] = "enable"
        if channel.other:
            headers["X-DashScope-Plugin"] = channel.other
        return headers
