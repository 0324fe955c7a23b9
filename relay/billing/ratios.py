"""new-api's price and ratio lookups (setting/ratio_setting), over the current option values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType

UNSET_MODEL_RATIO = 37.5  # the ratio used for unpriced models in self-use mode
CLAUDE_1H_CACHE_MULTIPLIER = 6 / 3.75


@cache
def default_tables() -> Mapping[str, Mapping[str, float]]:
    """new-api's built-in defaults for every ratio option (read once from defaults.json)."""
    raw = json.loads(resources.files("relay.billing").joinpath("defaults.json").read_text())
    return MappingProxyType({k: MappingProxyType(v) for k, v in raw.items()})


def matching_name(name: str) -> str:
    """FormatMatchingModelName: gizmo wildcards and Gemini thinking-budget names."""
    for prefix in ("gemini-2.5-flash-lite", "gemini-2.5-flash", "gemini-2.5-pro"):
        if name.startswith(prefix):
            if "-thinking-" in name:
                name = prefix + "-thinking-*"
            break
    if name.startswith("gpt-4-gizmo"):
        return "gpt-4-gizmo-*"
    if name.startswith("gpt-4o-gizmo"):
        return "gpt-4o-gizmo-*"
    return name


def _gpt_completion_ratio(name: str) -> tuple[float, bool]:
    if name.startswith("gpt-4o"):
        if name == "gpt-4o-2024-05-13":
            return 3, True
        if name.startswith("gpt-4o-mini-tts"):
            return 20, False
        return 4, False
    if name.startswith("gpt-5"):
        if "." not in name:
            return 8, True
        if name.startswith("gpt-5.4"):
            return (6.25, True) if name.startswith("gpt-5.4-nano") else (6, True)
        return 6, False
    if name.startswith("gpt-4.5-preview"):
        return 2, True
    if name.startswith("gpt-4-turbo") or name.endswith(("gpt-4-1106", "gpt-4-1105")):
        return 3, True
    return 2, False


def _gemini_completion_ratio(name: str) -> tuple[float, bool]:
    if name.startswith(("gemini-1.5", "gemini-2.0")):
        return 4, True
    if name.startswith("gemini-2.5-pro"):
        return 8, False
    if name.startswith("gemini-2.5-flash"):
        if name.startswith("gemini-2.5-flash-preview"):
            return (4, False) if name.endswith("-nothinking") else (3.5 / 0.15, False)
        if name.startswith("gemini-2.5-flash-lite"):
            return 4, False
        return 2.5 / 0.3, False
    if name.startswith("gemini-robotics-er-1.5"):
        return 2.5 / 0.3, False
    if name.startswith("gemini-3-pro"):
        return (60, False) if name.startswith("gemini-3-pro-image") else (6, False)
    return 4, False


_COMMAND_RATIOS = {
    "command-r": (3.0, True),
    "command-r-plus": (5.0, True),
    "command-r-08-2024": (4.0, True),
    "command-r-plus-08-2024": (4.0, True),
}
_FIXED_COMPLETION = {
    "chatgpt-4o-latest": (3.0, True),
    "llama2-70b-4096": (0.8 / 0.64, True),
    "llama3-8b-8192": (2.0, True),
    "llama3-70b-8192": (0.79 / 0.59, True),
}


def hardcoded_completion_ratio(name: str) -> tuple[float, bool]:
    """new-api's built-in completion ratio for a model and whether it is locked."""
    if name.endswith(("-all", "-gizmo-*")):
        return 2, False
    if name.startswith("gpt-"):
        # new-api tests "gpt-" before its gpt-3.5 rules, so gpt-3.5 models get 2 like gpt-4.
        return _gpt_completion_ratio(name)
    if name.startswith(("o1", "o3")):
        return 4, True
    if name in _FIXED_COMPLETION:
        return _FIXED_COMPLETION[name]
    if "claude-3" in name or any(
        f in name for f in ("claude-sonnet-4", "claude-opus-4", "claude-haiku-4")
    ):
        return 5, True
    if name.startswith("mistral-"):
        return 3, True
    if name.startswith("gemini-"):
        return _gemini_completion_ratio(name)
    if name.startswith("command"):
        return _COMMAND_RATIOS.get(name, (4.0, False))
    if name.startswith(("ERNIE-Speed-", "ERNIE-Lite-", "ERNIE-Character", "ERNIE-Functions")):
        return 2, True
    return 1, False


@dataclass(frozen=True)
class RatioBook:
    """The ratio and price tables in force, with new-api's lookup rules."""

    model_ratio: Mapping[str, float] = field(default_factory=dict)
    model_price: Mapping[str, float] = field(default_factory=dict)
    completion_ratio: Mapping[str, float] = field(default_factory=dict)
    cache_ratio: Mapping[str, float] = field(default_factory=dict)
    create_cache_ratio: Mapping[str, float] = field(default_factory=dict)
    image_ratio: Mapping[str, float] = field(default_factory=dict)
    audio_ratio: Mapping[str, float] = field(default_factory=dict)
    audio_completion_ratio: Mapping[str, float] = field(default_factory=dict)
    group_ratio: Mapping[str, float] = field(default_factory=dict)
    group_group_ratio: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def price_of(self, model: str) -> float | None:
        """Per-call USD price, or None when the model is billed by tokens."""
        return self.model_price.get(matching_name(model))

    def model_ratio_of(self, model: str) -> float | None:
        """The model ratio, or None when the model has none (unpriced)."""
        return self.model_ratio.get(matching_name(model))

    def completion_ratio_of(self, model: str) -> float:
        name = matching_name(model)
        if "/" in name and name in self.completion_ratio:
            return self.completion_ratio[name]
        ratio, locked = hardcoded_completion_ratio(name)
        if locked:
            return ratio
        return self.completion_ratio.get(name, ratio)

    def cache_ratio_of(self, model: str) -> float:
        return self.cache_ratio.get(model, 1.0)

    def create_cache_ratio_of(self, model: str) -> float:
        return self.create_cache_ratio.get(model, 1.25)

    def image_ratio_of(self, model: str) -> float:
        return self.image_ratio.get(model, 1.0)

    def audio_ratio_of(self, model: str) -> float:
        """GetAudioRatio: the normalized name's AudioRatio, else 1."""
        return self.audio_ratio.get(matching_name(model), 1.0)

    def audio_completion_ratio_of(self, model: str) -> float:
        """GetAudioCompletionRatio: the normalized name's AudioCompletionRatio, else 1."""
        return self.audio_completion_ratio.get(matching_name(model), 1.0)

    def group_ratio_of(self, user_group: str, using_group: str) -> float:
        """GroupGroupRatio for (user group, using group) if set, else GroupRatio, else 1."""
        special = self.group_group_ratio.get(user_group)
        if special is not None and using_group in special:
            return special[using_group]
        return self.group_ratio.get(using_group, 1.0)

    def is_priced(self, model: str) -> bool:
        return self.price_of(model) is not None or self.model_ratio_of(model) is not None
