"""Where and how relay dials a channel's realtime endpoint (new-api's GetRequestURL and
SetupRequestHeader for RelayModeRealtime), one builder per channel type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

from relay.providers.azure.adaptor import api_version, deployment_name
from relay.providers.base import overridden_headers
from relay.providers.registry import ChannelType
from relay.routing import Channel

SUBPROTOCOL = "realtime"  # the one new-api's upgrader accepts (and echoes when offered)


@dataclass(frozen=True, slots=True)
class Target:
    """The upstream URL, headers and subprotocols of one realtime dial."""

    url: str
    headers: dict[str, str]
    protocols: tuple[str, ...] = ()


class TargetBuilder(Protocol):
    def __call__(
        self, channel: Channel, key: str, model: str, query: Mapping[str, str],
        by_subprotocol: bool, azure_api_version: str = "",
    ) -> Target: ...  # fmt: skip


def _ws_base(base: str) -> str:
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :]
    if base.startswith("http://"):
        return "ws://" + base[len("http://") :]
    return base


def openai_target(
    channel: Channel, key: str, model: str, query: Mapping[str, str], by_subprotocol: bool,
    azure_api_version: str = "",
) -> Target:  # fmt: skip
    """The channel's base as ws(s), the client's query with the upstream model (Custom: the
    base URL is the whole URL, `{model}` filled); the key goes up the way the client sent its
    own (subprotocol or header), and only legacy `-realtime-preview` models get the beta
    marker (GA models refuse it)."""
    base = _ws_base(channel.base_url or "https://api.openai.com")
    if channel.type == ChannelType.CUSTOM:
        url = base.replace("{model}", model)
    else:
        url = f"{base}/v1/realtime?{urlencode({**query, 'model': model})}"
    legacy_beta = "-realtime-preview" in model
    headers: dict[str, str] = {}
    if channel.type == ChannelType.OPENAI and channel.organization:
        headers["OpenAI-Organization"] = channel.organization
    override = overridden_headers(channel, key)
    protocols: tuple[str, ...] = ()
    if by_subprotocol:
        protocols = (SUBPROTOCOL, f"openai-insecure-api-key.{key}")
        if legacy_beta:
            protocols += ("openai-beta.realtime-v1",)
    else:
        if legacy_beta:
            headers["OpenAI-Beta"] = "realtime=v1"
        if not any(name.lower() == "authorization" for name in override):
            headers["Authorization"] = f"Bearer {key}"
    headers.update(override)
    return Target(url, headers, protocols)


def azure_target(
    channel: Channel, key: str, model: str, query: Mapping[str, str], by_subprotocol: bool,
    azure_api_version: str = "",
) -> Target:  # fmt: skip
    """Azure: /openai/realtime?deployment=…&api-version=… on the resource, the key only in
    `api-key`, whichever way the client sent its own (as new-api sets it)."""
    base = _ws_base(channel.base_url)
    version = api_version(channel, query, azure_api_version)
    deployment = deployment_name(model, channel.created_time)
    url = f"{base}/openai/realtime?{urlencode({'deployment': deployment})}&api-version={version}"
    return Target(url, {**overridden_headers(channel, key), "api-key": key})


# Channel types that serve realtime, and how each is dialled.
TARGETS: dict[int, TargetBuilder] = {
    ChannelType.OPENAI: openai_target,
    ChannelType.CUSTOM: openai_target,
    ChannelType.AZURE: azure_target,
}
