"""relay.convert.responses_common: usage shapes, finish/status mapping, field readers."""

from __future__ import annotations

from typing import Any

import pytest

from relay.convert.responses_common import (
    ResponsesConversionError,
    chat_usage_to_responses,
    finish_of_status,
    join_summaries,
    json_text,
    responses_usage_to_chat,
    status_of_finish,
    usage_of,
)
from relay.providers.base import Usage


def test_chat_usage_to_responses_with_details() -> None:
    assert chat_usage_to_responses(
        {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "prompt_tokens_details": {"cached_tokens": 3, "cache_write_tokens": 2},
            "completion_tokens_details": {"reasoning_tokens": 2},
        }
    ) == {
        "input_tokens": 10,
        "input_tokens_details": {"cache_write_tokens": 2, "cached_tokens": 3},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 2},
        "total_tokens": 15,
    }


def test_chat_usage_deepseek_cache_hits_and_junk_counts() -> None:
    out = chat_usage_to_responses(
        {"prompt_tokens": "9", "completion_tokens": True, "prompt_cache_hit_tokens": 4}
    )
    assert out is not None
    assert (out["input_tokens"], out["output_tokens"], out["total_tokens"]) == (0, 0, 0)
    assert out["input_tokens_details"]["cached_tokens"] == 4
    assert chat_usage_to_responses(None) is None


def test_responses_usage_to_chat() -> None:
    assert responses_usage_to_chat(
        {
            "input_tokens": 7,
            "input_tokens_details": {"cached_tokens": 1, "cache_write_tokens": 2},
            "output_tokens": 3,
            "output_tokens_details": {"reasoning_tokens": 1},
        }
    ) == {
        "prompt_tokens": 7,
        "completion_tokens": 3,
        "total_tokens": 10,
        "prompt_tokens_details": {"cached_tokens": 1, "cache_write_tokens": 2},
        "completion_tokens_details": {"reasoning_tokens": 1},
    }
    assert responses_usage_to_chat("x") is None


def test_usage_of_gives_relay_usage() -> None:
    raw = {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 40, "cache_write_tokens": 5},
        "total_tokens": 130,
    }
    usage = usage_of(raw)
    assert usage == Usage(
        prompt_tokens=100, completion_tokens=30, cached_tokens=40, cache_write_tokens=5
    )
    assert usage is not None and usage.total_tokens == 130
    assert usage_of(None) is None


@pytest.mark.parametrize(
    ("finish", "expected"),
    [
        ("length", ("incomplete", {"reason": "max_output_tokens"})),
        ("content_filter", ("incomplete", {"reason": "content_filter"})),
        ("tool_calls", ("completed", None)),
        ("stop", ("completed", None)),
    ],
)
def test_status_of_finish(finish: str, expected: Any) -> None:
    assert status_of_finish(finish) == expected


@pytest.mark.parametrize(
    ("status", "details", "expected"),
    [
        ("incomplete", {"reason": "max_output_tokens"}, "length"),
        ("incomplete", {"reason": "content_filter"}, "content_filter"),
        ("incomplete", None, "length"),
        ("completed", None, None),
    ],
)
def test_finish_of_status(status: str, details: Any, expected: str | None) -> None:
    assert finish_of_status(status, details) == expected


def test_join_summaries_and_json_text() -> None:
    assert join_summaries(["a", "\n\nb", "\nc", "", "d"]) == "a\n\nb\n\nc\n\nd"
    assert json_text({"k": [1]}) == '{"k":[1]}' and json_text(None) == "" and json_text("s") == "s"
    with pytest.raises(ResponsesConversionError, match="not JSON-serialisable"):
        json_text({1j})
