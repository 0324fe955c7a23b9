"""Shared Gemini helpers: options, field readers, data URLs, finish reasons."""

from __future__ import annotations

import pytest

from relay.convert.gemini_common import (
    GeminiConversionError,
    GeminiOptions,
    count,
    gemini_finish_reason,
    obj,
    openai_finish_reason,
    opt_list,
    opt_num,
    opt_str,
    parse_data_url,
)


def test_safety_threshold_falls_back_to_default_then_off() -> None:
    assert GeminiOptions().safety_threshold("HARM_CATEGORY_HARASSMENT") == "OFF"
    options = GeminiOptions(safety_settings={"default": "BLOCK_NONE", "X": "BLOCK_ONLY_HIGH"})
    assert options.safety_threshold("X") == "BLOCK_ONLY_HIGH"
    assert options.safety_threshold("Y") == "BLOCK_NONE"
    assert GeminiOptions(safety_settings={"default": ""}).safety_threshold("Y") == "OFF"


def test_parse_data_url() -> None:
    assert parse_data_url("data:image/png;base64,QUJD") == ("image/png", "QUJD")
    assert parse_data_url("data:text/plain,hello") is None
    assert parse_data_url("data:image/png;base64") is None
    assert parse_data_url("https://x/y.png") is None


def test_readers() -> None:
    assert obj({}, "x") == {}
    assert opt_list(None, "x") == [] and opt_str(None, "x") == "" and opt_num(None, "x") is None
    assert opt_num(1.5, "x") == 1.5
    assert count(3) == 3 and count(True) == 0 and count("3") == 0
    for call in (
        lambda: obj([], "body"),
        lambda: opt_list({}, "body"),
        lambda: opt_str(1, "body"),
        lambda: opt_num(True, "body"),
        lambda: opt_num("1", "body"),
    ):
        with pytest.raises(GeminiConversionError, match="body must be"):
            call()
    assert issubclass(GeminiConversionError, ValueError)


def test_finish_reason_maps() -> None:
    assert [openai_finish_reason(r) for r in ("STOP", "MAX_TOKENS", "SAFETY", "X")] == [
        "stop",
        "length",
        "content_filter",
        "content_filter",
    ]
    assert [
        gemini_finish_reason(r) for r in ("stop", "length", "content_filter", "tool_calls")
    ] == [
        "STOP",
        "MAX_TOKENS",
        "SAFETY",
        "STOP",
    ]
