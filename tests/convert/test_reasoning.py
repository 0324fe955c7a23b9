"""Reasoning suffixes on model names, and channel thinking_to_content."""

from __future__ import annotations

from typing import Any

import pytest

from relay.convert.reasoning import (
    GeminiThinking,
    ThinkingToContent,
    apply_deepseek_v4_suffix,
    apply_openai_effort,
    clamp_thinking_budget,
    gemini_thinking,
    gemini_upstream_model,
    preserves_thinking_suffix,
)


@pytest.mark.parametrize(
    ("model", "base", "effort"),
    [
        ("o3-mini-high", "o3-mini", "high"),
        ("o1-low", "o1", "low"),
        ("o4-mini-medium", "o4-mini", "medium"),
        ("gpt-5-minimal", "gpt-5", "minimal"),
        ("gpt-5.1-none", "gpt-5.1", "none"),
        ("gpt-5-xhigh", "gpt-5", "xhigh"),
    ],
)
def test_openai_chat_effort_suffix(model: str, base: str, effort: str) -> None:
    payload: dict[str, Any] = {"model": model}
    assert apply_openai_effort(payload, model) == base
    assert payload == {"model": base, "reasoning_effort": effort}


@pytest.mark.parametrize("model", ["gpt-4o-high", "o3-mini", "gpt-5", "claude-3-high", "gpt-5-max"])
def test_openai_chat_effort_suffix_leaves_other_models(model: str) -> None:
    payload: dict[str, Any] = {"model": model}
    assert apply_openai_effort(payload, model) == model
    assert payload == {"model": model}


def test_openai_responses_effort_suffix() -> None:
    payload: dict[str, Any] = {"model": "gpt-4.1-low", "reasoning": {"summary": "auto"}}
    assert apply_openai_effort(payload, "gpt-4.1-low", responses=True) == "gpt-4.1"
    assert payload == {"model": "gpt-4.1", "reasoning": {"summary": "auto", "effort": "low"}}
    payload = {"model": "o3-high"}
    apply_openai_effort(payload, "o3-high", responses=True)
    assert payload == {"model": "o3", "reasoning": {"effort": "high"}}


def test_deepseek_v4_suffixes() -> None:
    payload: dict[str, Any] = {"reasoning_effort": "low"}
    assert apply_deepseek_v4_suffix(payload, "deepseek-v4-pro-none") == "deepseek-v4-pro"
    assert payload == {"model": "deepseek-v4-pro", "thinking": {"type": "disabled"}}
    payload = {}
    assert apply_deepseek_v4_suffix(payload, "deepseek-v4-flash-max") == "deepseek-v4-flash"
    assert payload == {
        "model": "deepseek-v4-flash",
        "thinking": {"type": "enabled"},
        "reasoning_effort": "max",
    }
    assert apply_deepseek_v4_suffix({}, "deepseek-chat-max") == "deepseek-chat-max"


@pytest.mark.parametrize(
    ("model", "budget", "clamped"),
    [
        ("gemini-2.5-pro", 10, 128),
        ("gemini-2.5-pro", 99999, 32768),
        ("gemini-2.5-pro-preview-05-06", 99999, 24576),  # the old 2.5-pro counts as flash
        ("gemini-2.5-flash", -5, 0),
        ("gemini-2.5-flash", 30000, 24576),
        ("gemini-2.5-flash-lite", 100, 512),
        ("gemini-2.5-flash-lite", 30000, 24576),
        ("gemini-2.5-flash", 1000, 1000),
    ],
)
def test_clamp_thinking_budget(model: str, budget: int, clamped: int) -> None:
    assert clamp_thinking_budget(model, budget) == clamped


@pytest.mark.parametrize(
    ("model", "kw", "expected"),
    [
        ("gemini-2.5-flash-thinking-8192", {}, {"thinkingBudget": 8192, "includeThoughts": True}),
        ("gemini-2.5-pro-thinking-64", {}, {"thinkingBudget": 128, "includeThoughts": True}),
        (
            "gemini-2.5-flash-lite-thinking-99999",
            {},
            {"thinkingBudget": 24576, "includeThoughts": True},
        ),
        ("gemini-2.5-flash-thinking-abc", {}, None),
        (
            "gemini-2.5-flash-thinking",
            {"max_output_tokens": 1000},
            {"includeThoughts": True, "thinkingBudget": 600},
        ),
        (
            "gemini-2.5-flash-thinking",
            {"max_output_tokens": 1000, "budget_percentage": 0.9},
            {"includeThoughts": True, "thinkingBudget": 900},
        ),
        (
            "gemini-2.5-flash-thinking",
            {"reasoning_effort": "high"},
            {"includeThoughts": True, "thinkingBudget": 19660},
        ),
        (
            "gemini-2.5-pro-thinking",
            {"reasoning_effort": "medium"},
            {"includeThoughts": True, "thinkingBudget": 16384},
        ),
        (
            "gemini-2.5-flash-thinking",
            {"reasoning_effort": "low"},
            {"includeThoughts": True, "thinkingBudget": 4915},
        ),
        (
            "gemini-2.5-pro-thinking",
            {"reasoning_effort": "minimal"},
            {"includeThoughts": True, "thinkingBudget": 1638},
        ),
        ("gemini-2.5-flash-thinking", {}, {"includeThoughts": True, "thinkingBudget": 24576}),
        (
            "gemini-2.5-pro-preview-03-25-thinking",
            {"max_output_tokens": 1000},
            {"includeThoughts": True},
        ),
        ("gemini-2.5-flash-nothinking", {}, {"thinkingBudget": 0}),
        ("gemini-2.5-pro-nothinking", {}, None),
        ("gemini-3-pro-preview-low", {}, {"includeThoughts": True, "thinkingLevel": "low"}),
        ("gemini-3-pro-preview-high", {}, {"includeThoughts": True, "thinkingLevel": "high"}),
        ("gemini-2.5-flash", {}, None),
    ],
)
def test_gemini_thinking(model: str, kw: dict[str, Any], expected: dict[str, Any] | None) -> None:
    assert gemini_thinking(model, adapter_enabled=True, **kw).config == expected
    # new-api's default: the adapter is off and the suffix means nothing.
    assert gemini_thinking(model, adapter_enabled=False, **kw).config is None


def test_gemini_thinking_level_is_reported() -> None:
    assert gemini_thinking("gemini-3-flash-minimal", adapter_enabled=True) == GeminiThinking(
        {"includeThoughts": True, "thinkingLevel": "minimal"}, "minimal"
    )
    assert gemini_thinking("gemini-2.5-flash-thinking-1", adapter_enabled=True).level is None


@pytest.mark.parametrize(
    ("model", "upstream"),
    [
        ("gemini-2.5-flash-thinking-8192", "gemini-2.5-flash"),
        ("gemini-2.5-flash-thinking", "gemini-2.5-flash"),
        ("gemini-2.5-flash-nothinking", "gemini-2.5-flash"),
        ("gemini-3-pro-preview-high", "gemini-3-pro-preview"),
        ("gemini-2.5-flash", "gemini-2.5-flash"),
    ],
)
def test_gemini_upstream_model(model: str, upstream: str) -> None:
    assert gemini_upstream_model(model, adapter_enabled=True, preserve_suffix=False) == upstream
    # Adapter off (new-api's default), or a blacklisted real name: sent unchanged.
    assert gemini_upstream_model(model, adapter_enabled=False, preserve_suffix=False) == model
    assert gemini_upstream_model(model, adapter_enabled=True, preserve_suffix=True) == model


def test_preserves_thinking_suffix() -> None:
    blacklist = ["moonshotai/kimi-k2-thinking", " kimi-k2-thinking "]
    assert preserves_thinking_suffix("kimi-k2-thinking", blacklist)
    assert not preserves_thinking_suffix("gemini-2.5-flash-thinking", blacklist)
    assert not preserves_thinking_suffix(" ", [" "])


def chunk(delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": "x",
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        **extra,
    }


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] if c["choices"] else {} for c in chunks]


def test_thinking_to_content() -> None:
    state = ThinkingToContent()
    out = []
    for c in [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "Let me"}),
        chunk({"reasoning": " think"}),
        chunk({"content": "Answer", "reasoning_content": None}),
        chunk({"content": "!"}),
        {"id": "x", "choices": [], "usage": {"total_tokens": 3}},
    ]:
        out.extend(state.convert(c))
    assert deltas(out) == [
        {"role": "assistant", "content": ""},
        {"content": "<think>\nLet me"},
        {"content": " think"},
        {"content": "\n</think>\n"},
        {"content": "Answer"},
        {"content": "!"},
        {},
    ]
    assert out[3] == {
        "id": "x",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "\n</think>\n"}, "finish_reason": None}],
    }
    assert out[-1]["usage"] == {"total_tokens": 3}


def test_thinking_to_content_without_reasoning_is_a_pass_through() -> None:
    state = ThinkingToContent()
    first = chunk({"content": "plain"})
    assert state.convert(first) == [first]
    assert deltas(state.convert(chunk({"content": "more", "reasoning_content": ""}))) == [
        {"content": "more"}
    ]


def test_thinking_to_content_tolerates_odd_chunks() -> None:
    state = ThinkingToContent()
    odd = {"choices": [None, {"index": 1}]}
    assert state.convert(odd) == [odd]
    assert state.convert({"choices": "x"}) == [{"choices": "x"}]
