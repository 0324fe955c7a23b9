"""Reasoning suffixes on model names (`-high`, `-thinking-8192`…) and channel thinking_to_content.

The option gates are plain arguments: the caller reads new-api's settings once and passes them in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Checked in this order, as new-api does (the first suffix the name ends with wins).
OPENAI_EFFORT_SUFFIXES = ("-high", "-minimal", "-low", "-medium", "-none", "-xhigh")
GEMINI_EFFORT_SUFFIXES = ("-max", "-xhigh", "-high", "-medium", "-low", "-minimal")
DEEPSEEK_V4_SUFFIXES = ("-none", "-max")

_PRO25_MIN, _PRO25_MAX = 128, 32768
_FLASH25_MAX = 24576
_LITE25_MIN, _LITE25_MAX = 512, 24576
_EFFORT_SHARE = {"high": 80, "medium": 50, "low": 20, "minimal": 5}  # percent of the maximum
_OLD_25_PRO = ("gemini-2.5-pro-preview-05-06", "gemini-2.5-pro-preview-03-25")
_INT = re.compile(r"[+-]?[0-9]+")


def _trim_suffix(model: str, suffixes: tuple[str, ...]) -> tuple[str, str] | None:
    """(base model, level without the dash) for the first suffix `model` ends with."""
    for suffix in suffixes:
        if model.endswith(suffix):
            return model[: -len(suffix)], suffix[1:]
    return None


def is_openai_reasoning_model(model: str) -> bool:
    """o1/o3/o4 and gpt-5 models: the ones whose chat requests take a reasoning suffix."""
    return model.startswith(("o1", "o3", "o4", "gpt-5"))


def apply_openai_effort(payload: dict[str, Any], model: str, *, responses: bool = False) -> str:
    """Strip an effort suffix from `model` into the payload; returns the model to send upstream.

    Chat sets `reasoning_effort` (o-series and gpt-5 only); Responses sets `reasoning.effort`
    for any model, as new-api does. The payload's `model` is replaced with the stripped name.
    """
    if not responses and not is_openai_reasoning_model(model):
        return model
    trimmed = _trim_suffix(model, OPENAI_EFFORT_SUFFIXES)
    if trimmed is None:
        return model
    base, effort = trimmed
    if responses:
        current = payload.get("reasoning")
        payload["reasoning"] = (
            {**current, "effort": effort} if isinstance(current, dict) else {"effort": effort}
        )
    else:
        payload["reasoning_effort"] = effort
    payload["model"] = base
    return base


def apply_deepseek_v4_suffix(payload: dict[str, Any], model: str) -> str:
    """deepseek-v4-*: `-none` disables thinking, `-max` enables it with effort max."""
    trimmed = _trim_suffix(model, DEEPSEEK_V4_SUFFIXES)
    if trimmed is None or not trimmed[0].startswith("deepseek-v4-"):
        return model
    base, suffix = trimmed
    if suffix == "none":
        payload["thinking"] = {"type": "disabled"}
        payload.pop("reasoning_effort", None)
    else:
        payload["thinking"] = {"type": "enabled"}
        payload["reasoning_effort"] = "max"
    payload["model"] = base
    return base


def _is_new_25_pro(model: str) -> bool:
    return model.startswith("gemini-2.5-pro") and not model.startswith(_OLD_25_PRO)


def clamp_thinking_budget(model: str, budget: int) -> int:
    """Clamp to the model family's range: 2.5-pro 128–32768, flash-lite 512–24576, else 0–24576."""
    if model.startswith("gemini-2.5-flash-lite"):
        low, high = _LITE25_MIN, _LITE25_MAX
    elif _is_new_25_pro(model):
        low, high = _PRO25_MIN, _PRO25_MAX
    else:
        low, high = 0, _FLASH25_MAX
    return min(max(budget, low), high)


def _budget_by_effort(model: str, effort: str | None) -> int:
    ceiling = _PRO25_MAX if _is_new_25_pro(model) else _FLASH25_MAX
    share = _EFFORT_SHARE.get(effort or "")
    return clamp_thinking_budget(model, ceiling if share is None else ceiling * share // 100)


@dataclass(frozen=True, slots=True)
class GeminiThinking:
    """What a Gemini model suffix asks for: a thinkingConfig, and the thinkingLevel it set."""

    config: dict[str, Any] | None
    level: str | None = None


def gemini_thinking(
    model: str,
    *,
    adapter_enabled: bool,
    max_output_tokens: int | None = None,
    reasoning_effort: str | None = None,
    budget_percentage: float = 0.6,
) -> GeminiThinking:
    """The thinkingConfig a suffixed Gemini model name asks for (`gemini.thinking_adapter_enabled`).

    `-thinking-<N>` → budget N clamped; `-thinking` → budget_percentage × maxOutputTokens, else a
    share of the family maximum by reasoning_effort; `-nothinking` → budget 0 (not on the new
    2.5-pro); `-low`/`-high`/… → thinkingLevel.
    """
    if not adapter_enabled:
        return GeminiThinking(None)
    if "-thinking-" in model:
        tail = model.split("-thinking-", 1)[1]
        if not _INT.fullmatch(tail):
            return GeminiThinking(None)
        budget = clamp_thinking_budget(model, int(tail))
        return GeminiThinking({"thinkingBudget": budget, "includeThoughts": True})
    if model.endswith("-thinking"):
        config: dict[str, Any] = {"includeThoughts": True}
        if not model.startswith(_OLD_25_PRO):
            if max_output_tokens and max_output_tokens > 0:
                budget = int(budget_percentage * max_output_tokens)
                config["thinkingBudget"] = clamp_thinking_budget(model, budget)
            else:
                config["thinkingBudget"] = _budget_by_effort(model, reasoning_effort)
        return GeminiThinking(config)
    if model.endswith("-nothinking"):
        return GeminiThinking(None if _is_new_25_pro(model) else {"thinkingBudget": 0})
    trimmed = _trim_suffix(model, GEMINI_EFFORT_SUFFIXES)
    if trimmed is not None:
        level = trimmed[1]
        return GeminiThinking({"includeThoughts": True, "thinkingLevel": level}, level)
    return GeminiThinking(None)


def preserves_thinking_suffix(model: str, blacklist: list[str] | tuple[str, ...]) -> bool:
    """Whether `model` is in `global.thinking_model_blacklist` (a real name ending in a suffix)."""
    target = model.strip()
    return bool(target) and any(entry.strip() == target for entry in blacklist)


def gemini_upstream_model(model: str, *, adapter_enabled: bool, preserve_suffix: bool) -> str:
    """The Gemini model name for the URL: thinking suffixes stripped when the adapter is on.

    `preserve_suffix` is true for names in `global.thinking_model_blacklist` (real names that
    end in `-thinking`), which are sent unchanged.
    """
    if not adapter_enabled or preserve_suffix:
        return model
    if "-thinking-" in model:
        return model.split("-thinking-", 1)[0]
    for suffix in ("-thinking", "-nothinking"):
        if model.endswith(suffix):
            return model[: -len(suffix)]
    trimmed = _trim_suffix(model, GEMINI_EFFORT_SUFFIXES)
    return model if trimmed is None else trimmed[0]


def _reasoning_of(delta: dict[str, Any]) -> str:
    for key in ("reasoning_content", "reasoning"):
        value = delta.get(key)
        if isinstance(value, str):
            return value
    return ""


def _content_of(delta: dict[str, Any]) -> str:
    value = delta.get("content")
    return value if isinstance(value, str) else ""


def _strip_reasoning(delta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in delta.items() if k not in ("reasoning_content", "reasoning")}


class ThinkingToContent:
    """Channel `thinking_to_content`: reasoning in OpenAI stream chunks becomes `<think>` content.

    Feed every parsed chunk to `convert`, in order; emit the chunks it returns, in order.
    """

    def __init__(self) -> None:
        self._opened = False
        self._closed = False

    def convert(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices:
            return [chunk]
        deltas = [
            c["delta"] if isinstance(c, dict) and isinstance(c.get("delta"), dict) else {}
            for c in choices
        ]
        reasoning = "".join(_reasoning_of(d) for d in deltas)
        has_content = any(_content_of(d) for d in deltas)
        if reasoning and not self._opened:
            # As new-api: the opening chunk is the reasoning alone (content in it is replaced).
            self._opened = True
            return [self._with_deltas(chunk, lambda d: {**d, "content": "<think>\n" + reasoning})]
        out: list[dict[str, Any]] = []
        if has_content and self._opened and not self._closed:
            self._closed = True
            out.append(self._closing(chunk))

        def move(delta: dict[str, Any]) -> dict[str, Any]:
            text = _reasoning_of(delta)
            return {**delta, "content": text} if text else delta

        out.append(self._with_deltas(chunk, move))
        return out

    @staticmethod
    def _with_deltas(
        chunk: dict[str, Any], change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        """A copy of `chunk` with `change` applied to each choice's delta, reasoning removed."""
        choices = []
        for choice in chunk["choices"]:
            if isinstance(choice, dict) and isinstance(choice.get("delta"), dict):
                choice = {**choice, "delta": _strip_reasoning(change(choice["delta"]))}
            choices.append(choice)
        return {**chunk, "choices": choices}

    @staticmethod
    def _closing(chunk: dict[str, Any]) -> dict[str, Any]:
        """A content-only chunk carrying `\\n</think>\\n`, with the chunk's id/model/created."""
        head = {k: v for k, v in chunk.items() if k not in ("choices", "usage")}
        first = chunk["choices"][0]
        index = first.get("index", 0) if isinstance(first, dict) else 0
        choice = {"index": index, "delta": {"content": "\n</think>\n"}, "finish_reason": None}
        return {**head, "choices": [choice]}
