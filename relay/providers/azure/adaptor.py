"""The Azure OpenAI provider: new-api's Azure branch of its OpenAI adaptor.

The channel's base URL is the resource endpoint (https://<name>.openai.azure.com), the client's
`?api-version=` or else the channel's `other` column the api-version (else
AZURE_DEFAULT_API_VERSION), and the key goes in `api-key`.
Generation and embeddings go to /openai/deployments/{deployment}/<task>?api-version=…;
Responses to /openai/v1/responses?api-version=preview (or the channel's
`azure_responses_version`). Bodies and responses are OpenAI's, read by OpenAICompatible.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from relay.providers.base import Endpoint, UpstreamCall
from relay.providers.openai.adaptor import OpenAICompatible, Vendor
from relay.routing import Channel

# new-api removes the dots of the model name in the deployment ("gpt-3.5" → "gpt-35") for
# channels created before 2025-05-10 00:00 UTC (constant.AzureNoRemoveDotTime), not after.
NO_REMOVE_DOT_TIME = 1746835200
CLOUDFLARE_GATEWAY = "https://gateway.ai.cloudflare.com"
# Azure AI Foundry resources serve Responses under /openai/responses with the channel's version.
_FOUNDRY_HOST = "cognitiveservices.azure.com"


def deployment_name(model: str, channel_created: int) -> str:
    return model.replace(".", "") if channel_created < NO_REMOVE_DOT_TIME else model


def api_version(channel: Channel, client_query: Mapping[str, str], default: str) -> str:
    """new-api's GetAPIVersion: the client's `?api-version=` (quoted: it must not add
    parameters), else the channel's `other`, else AZURE_DEFAULT_API_VERSION."""
    asked = client_query.get("api-version")
    return (quote(asked, safe="") if asked else channel.other.strip()) or default


class Azure(OpenAICompatible):
    """Stateless and shared by all requests; `default_api_version` is AZURE_DEFAULT_API_VERSION."""

    def __init__(self, vendor: Vendor, default_api_version: str) -> None:
        super().__init__(vendor)
        self.default_api_version = default_api_version

    def _url(self, channel: Channel, call: UpstreamCall) -> str:
        base = channel.base_url
        version = api_version(channel, call.client_query, self.default_api_version)
        if call.endpoint is Endpoint.RESPONSES:
            path, responses_version = "/openai/v1/responses", "preview"
            if _FOUNDRY_HOST in base:
                path, responses_version = "/openai/responses", version
            override = channel.other_settings.get("azure_responses_version")
            if isinstance(override, str) and override:
                responses_version = override
            return f"{base}{path}?api-version={responses_version}"
        task = call.endpoint.value.removeprefix("/v1/")
        deployment = deployment_name(call.upstream_model, channel.created_time)
        path = f"/openai/deployments/{deployment}/{task}?api-version={version}"
        if base.startswith(CLOUDFLARE_GATEWAY):
            path = path.removeprefix("/openai/deployments")
        return base + path

    def _headers(self, channel: Channel, key: str, call: UpstreamCall) -> dict[str, str]:
        headers = super()._headers(channel, key, call)
        del headers["Authorization"]
        headers.pop("OpenAI-Organization", None)  # new-api sends only api-key to Azure
        headers["api-key"] = key
        return headers
