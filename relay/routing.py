"""Channel selection from an in-memory routing table: priority tiers, weighted random inside one."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from relay.billing.ratios import matching_name

STATUS_ENABLED = 1


@dataclass(frozen=True, slots=True)
class ChannelSetting:
    """The channel's `setting` JSON (new-api's dto.ChannelSettings) that relay applies."""

    system_prompt: str = ""
    system_prompt_override: bool = False
    pass_through_body: bool = False  # pass_through_body_enabled
    thinking_to_content: bool = False
    force_format: bool = False
    proxy: str = ""  # http(s)/socks5(h) URL, may carry credentials: never log it

    @property
    def reformats_stream(self) -> bool:
        """Whether an OpenAI chat stream's chunks are re-serialized (new-api's sendStreamData)."""
        return self.force_format or self.thinking_to_content


@dataclass(frozen=True, slots=True)
class Channel:
    """One upstream account, with its key(s) already decrypted."""

    id: int
    type: int
    name: str
    keys: tuple[str, ...]
    base_url: str = ""
    organization: str = ""
    status: int = STATUS_ENABLED
    priority: int = 0
    weight: int = 0
    models: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    model_mapping: Mapping[str, str] = field(default_factory=dict)
    status_code_mapping: Mapping[int, int] = field(default_factory=dict)
    setting: ChannelSetting = ChannelSetting()
    param_override: Mapping[str, Any] = field(default_factory=dict)
    header_override: Mapping[str, str] = field(default_factory=dict)
    other: str = ""
    other_settings: Mapping[str, Any] = field(default_factory=dict)  # the `settings` column
    created_time: int = 0
    multi_key_random: bool = True


class ModelMappingError(ValueError):
    """The channel's model_mapping loops."""


def map_model(channel: Channel, model: str) -> str:
    """Follow the channel's model_mapping chain from the requested name; cycles are errors."""
    seen = {model}
    current = model
    while True:
        target = channel.model_mapping.get(current)
        if not target or target == current:
            return current
        if target in seen:
            raise ModelMappingError(f"model_mapping of channel #{channel.id} loops at {target}")
        seen.add(target)
        current = target


@dataclass(frozen=True, slots=True)
class Tier:
    """The channels of one priority for one (group, model), with new-api's smoothed weights."""

    priority: int
    channels: tuple[Channel, ...]
    weights: tuple[int, ...]
    total: int

    @classmethod
    def build(cls, priority: int, channels: list[Channel]) -> Tier:
        total = sum(c.weight for c in channels)
        factor, adjust = 1, 0
        if total == 0:
            adjust = 100
        elif total // len(channels) < 10:
            factor = 100
        weights = tuple(c.weight * factor + adjust for c in channels)
        return cls(priority, tuple(channels), weights, sum(weights))

    def pick(self, rng: random.Random) -> Channel:
        if len(self.channels) == 1:
            return self.channels[0]
        r = rng.randrange(self.total)
        for channel, weight in zip(self.channels, self.weights, strict=True):
            r -= weight
            if r < 0:
                return channel
        return self.channels[-1]


class RoutingTable:
    """group → model → priority tiers, built from enabled abilities of enabled channels."""

    def __init__(self, channels: Iterable[Channel], abilities: Iterable[tuple[str, str, int]]):
        self.channels: dict[int, Channel] = {c.id: c for c in channels}
        grouped: dict[tuple[str, str], dict[int, list[Channel]]] = {}
        for group, model, channel_id in abilities:
            channel = self.channels.get(channel_id)
            if channel is None or channel.status != STATUS_ENABLED:
                continue
            tiers = grouped.setdefault((group, model), {})
            tiers.setdefault(channel.priority, []).append(channel)
        self._tiers: dict[tuple[str, str], tuple[Tier, ...]] = {
            key: tuple(Tier.build(p, cs) for p, cs in sorted(by_p.items(), reverse=True))
            for key, by_p in grouped.items()
        }
        models: dict[str, set[str]] = {}
        for group, model in self._tiers:
            models.setdefault(group, set()).add(model)
        self._models = {g: tuple(sorted(ms)) for g, ms in models.items()}
        self._rng = random.Random()

    def tiers(self, group: str, model: str) -> tuple[Tier, ...]:
        """The tiers for a model, trying the normalized name (gizmo, thinking-*) second."""
        tiers = self._tiers.get((group, model))
        if tiers is None:
            tiers = self._tiers.get((group, matching_name(model)), ())
        return tiers

    def select(self, group: str, model: str, attempt: int) -> Channel | None:
        """new-api's pick: attempt k uses tier min(k, last); weighted random inside it."""
        tiers = self.tiers(group, model)
        if not tiers:
            return None
        return tiers[min(attempt, len(tiers) - 1)].pick(self._rng)

    def models_of(self, group: str) -> tuple[str, ...]:
        return self._models.get(group, ())

    def enabled_channel(self, channel_id: int) -> Channel | None:
        channel = self.channels.get(channel_id)
        if channel is None or channel.status != STATUS_ENABLED:
            return None
        return channel
