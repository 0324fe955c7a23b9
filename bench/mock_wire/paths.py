"""Upstream URL shapes that carry OpenAI's wire format under other paths: Azure OpenAI's
deployments and v1 routes, DashScope's compatible mode. Each maps to the /v1 path it serves."""

from __future__ import annotations

_DEPLOYMENTS = "/openai/deployments/"
_PREFIXES = (
    "/api/v2/apps/protocols/compatible-mode/v1/",  # DashScope Responses
    "/compatible-mode/v1/",  # DashScope
    "/openai/v1/",  # Azure Responses
    "/openai/",  # Azure AI Foundry Responses (/openai/responses)
)


def openai_path(path: str) -> str | None:
    """The OpenAI path an aliased path stands for, e.g. /openai/deployments/gpt-4o/embeddings
    → /v1/embeddings; None for any other path."""
    if path.startswith(_DEPLOYMENTS):
        _, sep, task = path[len(_DEPLOYMENTS) :].partition("/")
        return "/v1/" + task if sep and task else None
    for prefix in _PREFIXES:
        if path.startswith(prefix):
            return "/v1/" + path[len(prefix) :]
    return None
