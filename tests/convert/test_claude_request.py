"""relay.convert.claude_request: Claude Messages ⇄ OpenAI Chat requests.

The two rich fixtures and their expected outputs are new-api's golden files
(relaykit/relayconvert/testdata/golden/request/{claude_to_openai,openai_to_claude}), minus
Go-internal fields; the remote image of the OpenAI fixture is a data URL here.
"""

from __future__ import annotations

from typing import Any

import pytest

from relay.convert.claude_request import (
    ClaudeOptions,
    ConversionError,
    adapt_claude_request,
    claude_to_openai_request,
    openai_to_claude_request,
)

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
CLAUDE_FIXTURE: dict[str, Any] = {
    "model": "claude-test",
    "max_tokens": 1024,
    "stream": True,
    "system": "You are a helpful assistant.",
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "aGVsbG8="},
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Let me look.", "signature": "sig"},
                {
                    "type": "tool_use",
                    "id": "toolu_abc",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_abc", "content": "15 degrees"}
            ],
        },
    ],
    "tools": [
        {
            "name": "get_weather",
            "description": "Get weather by city",
            "input_schema": WEATHER_SCHEMA,
        }
    ],
    "thinking": {"type": "enabled", "budget_tokens": 512},
}
OPENAI_FIXTURE: dict[str, Any] = {
    "model": "gpt-test",
    "max_tokens": 1024,
    "stream": True,
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVsbG8="}},
            ],
        },
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_abc",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_abc", "content": "15 degrees"},
        {"role": "user", "content": "Summarize."},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get weather by city",
                "parameters": WEATHER_SCHEMA,
            },
        }
    ],
    "tool_choice": "auto",
}


def test_claude_to_openai_golden() -> None:
    assert claude_to_openai_request(CLAUDE_FIXTURE) == {
        "model": "claude-test",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVsbG8="}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "toolu_abc",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {
                "role": "tool",
                "content": "15 degrees",
                "name": "get_weather",
                "tool_call_id": "toolu_abc",
            },
        ],
        "stream": True,
        "max_tokens": 1024,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Get weather by city",
                    "parameters": WEATHER_SCHEMA,
                },
            }
        ],
    }


def test_claude_to_openai_system_blocks_stops_sampling_and_block_results() -> None:
    out = claude_to_openai_request(
        {
            "model": "m",
            "max_tokens": 5,
            "system": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            "stop_sequences": ["X", "Y"],
            "temperature": 0.2,
            "top_p": 0.9,
            "top_k": 3,
            "tool_choice": {"type": "any"},
            "messages": [
                {"role": "user", "content": "hi"},
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "t1",
                            "name": "f",
                            "content": [{"type": "text", "text": "r"}],
                        },
                        {"type": "text", "text": "and then"},
                    ],
                },
            ],
        }
    )
    assert out["messages"] == [
        {"role": "system", "content": "ab"},
        {"role": "user", "content": "hi"},
        {
            "role": "tool",
            "content": '[{"type":"text","text":"r"}]',
            "name": "f",
            "tool_call_id": "t1",
        },
        {"role": "user", "content": [{"type": "text", "text": "and then"}]},
    ]
    assert out["stop"] == ["X", "Y"]
    assert (out["temperature"], out["top_p"], out["top_k"]) == (0.2, 0.9, 3)
    assert "tool_choice" not in out and "thinking" not in out
    assert (
        claude_to_openai_request({"model": "m", "messages": [], "stop_sequences": ["Z"]})["stop"]
        == "Z"
    )


def test_openai_to_claude_golden() -> None:
    assert openai_to_claude_request(OPENAI_FIXTURE) == {
        "model": "gpt-test",
        "system": [{"type": "text", "text": "You are a helpful assistant."}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "aGVsbG8="},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "..."},
                    {
                        "type": "tool_use",
                        "id": "call_abc",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "content": "15 degrees", "tool_use_id": "call_abc"}
                ],
            },
            {"role": "user", "content": "Summarize."},
        ],
        "max_tokens": 1024,
        "stream": True,
        "tools": [
            {
                "name": "get_weather",
                "description": "Get weather by city",
                "input_schema": WEATHER_SCHEMA,
            }
        ],
        "tool_choice": {"type": "auto"},
    }


def test_openai_to_claude_merges_adjacent_strings_and_fills_empty_content() -> None:
    out = openai_to_claude_request(
        {
            "model": "m",
            "messages": [
                {"role": "developer", "content": [{"type": "text", "text": "rules"}]},
                {"role": "assistant", "content": ""},
                {"role": "user", "content": "a"},
                {"role": "user", "content": "b"},
                {"role": "tool", "tool_call_id": "t", "content": "r"},
            ],
        }
    )
    assert out["system"] == [{"type": "text", "text": "rules"}]
    assert out["max_tokens"] == 8192  # claude.default_max_tokens
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "..."}]},  # must start with user
        {"role": "assistant", "content": "..."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "a b"},
                {"type": "tool_result", "tool_use_id": "t", "content": "r"},
            ],
        },
    ]


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("required", None, {"type": "any"}),
        ("none", False, {"type": "none"}),
        ({"type": "function", "function": {"name": "f"}}, None, {"type": "tool", "name": "f"}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", True, {"type": "any", "disable_parallel_tool_use": False}),
    ],
)
def test_tool_choice(choice: Any, parallel: Any, expected: dict[str, Any]) -> None:
    payload: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    if choice is not None:
        payload["tool_choice"] = choice
    if parallel is not None:
        payload["parallel_tool_calls"] = parallel
    assert openai_to_claude_request(payload)["tool_choice"] == expected


def _thinking(model: str, **extra: Any) -> dict[str, Any]:
    payload = {"model": model, "messages": [{"role": "user", "content": "x"}], **extra}
    return openai_to_claude_request(payload)


def test_thinking_suffix_budget_rules() -> None:
    out = _thinking("claude-sonnet-4-thinking", max_tokens=1000, top_p=0.5, temperature=0.1)
    assert out["model"] == "claude-sonnet-4"
    assert out["max_tokens"] == 1280  # raised to the floor
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 1024}  # 1280 × 0.8
    assert out["temperature"] == 1.0 and "top_p" not in out
    big = _thinking("claude-sonnet-4-thinking", max_completion_tokens=10000)
    assert big["thinking"]["budget_tokens"] == 8000 and big["max_tokens"] == 10000
    adaptive = _thinking("claude-opus-4-7-thinking", temperature=0.3)
    assert adaptive["model"] == "claude-opus-4-7"
    assert adaptive["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert adaptive["output_config"] == {"effort": "high"} and "temperature" not in adaptive
    effort = _thinking("claude-opus-4-6-low")
    assert effort["model"] == "claude-opus-4-6" and effort["thinking"] == {"type": "adaptive"}
    assert effort["output_config"] == {"effort": "low"} and effort["temperature"] == 1.0
    off = openai_to_claude_request(
        {"model": "claude-x-thinking", "messages": []},
        ClaudeOptions(thinking_adapter_enabled=False),
    )
    assert off["model"] == "claude-x-thinking" and "thinking" not in off


@pytest.mark.parametrize(("effort", "budget"), [("low", 1280), ("medium", 2048), ("high", 4096)])
def test_reasoning_effort_budgets(effort: str, budget: int) -> None:
    out = _thinking("claude-x", reasoning_effort=effort)
    assert out["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert _thinking("claude-x", reasoning={"max_tokens": 777})["thinking"]["budget_tokens"] == 777


def test_stops_sampling_and_web_search() -> None:
    out = _thinking(
        "m",
        stop="END",
        top_k=4,
        web_search_options={
            "search_context_size": "high",
            "user_location": {"approximate": {"city": "Paris", "country": "FR"}},
        },
    )
    assert out["stop_sequences"] == ["END"] and out["top_k"] == 4
    assert out["tools"] == [
        {
            "type": "web_search_20250305",
            "name": "web_search",
            "user_location": {"type": "approximate", "city": "Paris", "country": "FR"},
            "max_uses": 10,
        }
    ]
    assert _thinking("m", stop=["a", "b"])["stop_sequences"] == ["a", "b"]


def test_pdf_data_urls_are_documents_and_remote_urls_are_refused() -> None:
    pdf = {"type": "image_url", "image_url": {"url": "data:application/pdf;base64,JVBE"}}
    out = _thinking("m", messages=[{"role": "user", "content": [pdf]}])
    assert out["messages"][0]["content"] == [
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
        }
    ]
    remote = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    with pytest.raises(ConversionError, match="data: URLs"):
        _thinking("m", messages=[{"role": "user", "content": [remote]}])


def test_bad_tool_arguments_become_an_empty_input() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
    out = _thinking(
        "m",
        messages=[{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [call]}],
    )
    assert out["messages"][1]["content"][-1] == {
        "type": "tool_use",
        "id": "c",
        "name": "f",
        "input": {},
    }


def test_default_max_tokens_are_per_model_with_a_default() -> None:
    opts = ClaudeOptions(default_max_tokens={"default": 300, "claude-big": 64000})
    request = {"messages": [{"role": "user", "content": "hi"}]}
    assert openai_to_claude_request({**request, "model": "claude-big"}, opts)["max_tokens"] == 64000
    assert openai_to_claude_request({**request, "model": "claude-x"}, opts)["max_tokens"] == 300
    given = {**request, "model": "claude-big", "max_tokens": 5}
    assert openai_to_claude_request(given, opts)["max_tokens"] == 5
    assert ClaudeOptions(default_max_tokens={}).max_tokens_for("m") == 8192


def test_claude_requests_are_adapted_only_when_a_rule_applies() -> None:
    plain = {"model": "claude-x", "max_tokens": 10, "messages": []}
    assert adapt_claude_request(plain, "claude-x") is None
    missing = adapt_claude_request({"model": "c", "messages": []}, "claude-up")
    assert missing == {"model": "claude-up", "messages": [], "max_tokens": 8192}
    budget = ClaudeOptions(thinking_budget_percentage=0.5)
    thinking = adapt_claude_request(
        {"model": "m", "max_tokens": 100, "top_p": 0.9}, "claude-x-thinking", budget
    )
    assert thinking == {
        "model": "claude-x",
        "max_tokens": 1280,
        "top_p": 0.9,
        "thinking": {"type": "enabled", "budget_tokens": 640},
        "temperature": 1.0,
    }
    own = {"model": "m", "max_tokens": 2000, "thinking": {"type": "enabled", "budget_tokens": 1024}}
    kept = adapt_claude_request(own, "claude-x-thinking")
    assert kept == {**own, "model": "claude-x"}
    effort = adapt_claude_request({"max_tokens": 10, "top_k": 3}, "claude-opus-4-8-high")
    assert effort == {
        "model": "claude-opus-4-8",
        "max_tokens": 10,
        "thinking": {"type": "adaptive", "display": "summarized"},
        "output_config": {"effort": "high"},
    }
    with pytest.raises(ConversionError):
        adapt_claude_request({"max_tokens": "9"}, "claude-x-thinking")
