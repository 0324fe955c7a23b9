"""relay.convert.claude_response: whole responses and usage between Claude and OpenAI Chat.

Fixtures are new-api's golden response inputs (relaykit/relayconvert/golden_test.go).
"""

from __future__ import annotations

from typing import Any

import pytest

from relay.convert.claude_response import (
    claude_to_openai_response,
    claude_usage_of,
    finish_reason_of,
    openai_to_claude_response,
    stop_reason_of,
    usage_from_claude,
)
from relay.providers.base import Usage

CLAUDE_RESPONSE: dict[str, Any] = {
    "id": "msg_fixed",
    "type": "message",
    "role": "assistant",
    "model": "claude-test",
    "content": [
        {"type": "text", "text": "The answer is 42."},
        {"type": "tool_use", "id": "toolu_abc", "name": "get_weather", "input": {"city": "Paris"}},
    ],
    "stop_reason": "tool_use",
    "usage": {
        "input_tokens": 10,
        "output_tokens": 5,
        "cache_read_input_tokens": 3,
        "cache_creation_input_tokens": 2,
    },
}
OPENAI_RESPONSE: dict[str, Any] = {
    "id": "chatcmpl-fixed",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-test",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "The answer is 42.",
                "reasoning_content": "Deep thought.",
                "tool_calls": [
                    {
                        "id": "call_abc",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 3},
        "completion_tokens_details": {"reasoning_tokens": 2},
    },
}


def test_claude_to_openai_golden() -> None:
    assert claude_to_openai_response(CLAUDE_RESPONSE, created=0) == {
        "id": "msg_fixed",
        "object": "chat.completion",
        "created": 0,
        "model": "claude-test",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "The answer is 42.",
                    "tool_calls": [
                        {
                            "id": "toolu_abc",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        # prompt = input + cache reads + cache writes (golden: 15)
        "usage": {
            "prompt_tokens": 15,
            "completion_tokens": 5,
            "total_tokens": 20,
            "prompt_tokens_details": {
                "cached_tokens": 3,
                "cached_creation_tokens": 2,
                "cache_write_tokens": 2,
            },
        },
    }


def test_claude_to_openai_joins_text_and_keeps_thinking() -> None:
    body = {
        "id": "m",
        "model": "c",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "s"},
            {"type": "text", "text": "a"},
            {"type": "text", "text": "b"},
        ],
        "stop_reason": "max_tokens",
    }
    out = claude_to_openai_response(body, created=7)
    message = out["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "ab", "reasoning_content": "hmm"}
    assert out["choices"][0]["finish_reason"] == "length"
    assert out["usage"]["prompt_tokens"] == 0


def test_openai_to_claude_golden() -> None:
    usage = Usage(prompt_tokens=10, completion_tokens=5, cached_tokens=3)
    assert openai_to_claude_response(OPENAI_RESPONSE, usage) == {
        "id": "chatcmpl-fixed",
        "type": "message",
        "role": "assistant",
        "model": "gpt-test",
        "content": [
            {"type": "text", "text": "The answer is 42."},
            {
                "type": "tool_use",
                "id": "call_abc",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 3,
            "output_tokens": 5,
        },
    }


def test_openai_to_claude_empty_reply_is_one_empty_text_block() -> None:
    body = {"id": "x", "model": "m", "choices": [{"message": {"content": None},
                                                   "finish_reason": "content_filter"}]}  # fmt: skip
    out = openai_to_claude_response(body, Usage())
    assert out["content"] == [{"type": "text", "text": ""}]
    assert out["stop_reason"] == "refusal"


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "pause_turn"),
    ],
)
def test_stop_reasons(stop: str, finish: str) -> None:
    assert finish_reason_of(stop) == finish


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
        ("other", "other"),
        (None, ""),
    ],
)
def test_finish_reasons(finish: str | None, stop: str) -> None:
    assert stop_reason_of(finish) == stop


def test_claude_usage_with_the_1h_split() -> None:
    raw = {
        "input_tokens": 100,
        "output_tokens": 20,
        "cache_read_input_tokens": 40,
        "cache_creation_input_tokens": 18,
        "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 5},
    }
    usage = usage_from_claude(raw)
    assert usage == Usage(
        prompt_tokens=100,
        completion_tokens=20,
        cached_tokens=40,
        cache_write_tokens=18,
        cache_write_5m_tokens=13,  # the unattributed 3 count as 5-minute writes (new-api)
        cache_write_1h_tokens=5,
        anthropic=True,
    )
    # message_delta only overwrites what it reports
    later = usage_from_claude({"output_tokens": 25}, usage)
    assert (later.prompt_tokens, later.completion_tokens, later.cached_tokens) == (100, 25, 40)
    assert claude_usage_of(usage)["cache_creation"] == {
        "ephemeral_5m_input_tokens": 13,
        "ephemeral_1h_input_tokens": 5,
    }


def test_claude_usage_of_openai_semantics() -> None:
    # Only reported cache writes make new-api subtract the cache from input_tokens.
    plain = claude_usage_of(Usage(prompt_tokens=50, completion_tokens=4, cached_tokens=10))
    assert plain["input_tokens"] == 50 and plain["cache_read_input_tokens"] == 10
    writes = Usage(prompt_tokens=50, completion_tokens=4, cached_tokens=10, cache_write_tokens=5)
    assert claude_usage_of(writes)["input_tokens"] == 35
