"""relay.convert.responses_request: a Responses request → a Chat Completions request.

The golden case is new-api's relayconvert fixture (testdata/golden/request/
openai_responses_to_openai); the one deliberate difference is that `input_image` becomes Chat's
`image_url` object ({"url": …}) where new-api passes the bare string, which Chat upstreams refuse.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from relay.convert.responses_common import ResponsesConversionError
from relay.convert.responses_request import responses_to_chat_request

GOLDEN = Path(__file__).parent / "golden" / "responses"


def _golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def test_golden_new_api_fixture() -> None:
    case = _golden("request_responses_to_chat")
    assert responses_to_chat_request(case["input"]) == case["output"]


def test_string_input_and_instructions_and_scalars() -> None:
    out = responses_to_chat_request(
        {
            "model": "gpt-test",
            "instructions": "system rules",
            "input": "hello",
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_output_tokens": 128,
            "temperature": 0.0,
            "top_p": 0.9,
            "user": "user-1",
            "store": False,
            "metadata": {"trace": "abc"},
            "parallel_tool_calls": True,
            "prompt_cache_key": "cache-key",
            "prompt_cache_retention": "24h",
            "reasoning": {"effort": "medium", "summary": "auto"},
            "service_tier": "flex",
            "safety_identifier": "sid",
        }
    )
    assert out == {
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "system rules"},
            {"role": "user", "content": "hello"},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_completion_tokens": 128,
        "temperature": 0.0,
        "top_p": 0.9,
        "user": "user-1",
        "store": False,
        "metadata": {"trace": "abc"},
        "parallel_tool_calls": True,
        "prompt_cache_key": "cache-key",
        "prompt_cache_retention": "24h",
        "reasoning_effort": "medium",
        "service_tier": "flex",
        "safety_identifier": "sid",
    }


def test_blank_instructions_and_absent_input() -> None:
    assert responses_to_chat_request({"model": "m", "instructions": "  "}) == {
        "model": "m",
        "messages": [],
    }


def test_multimodal_parts() -> None:
    out = responses_to_chat_request(
        {
            "model": "m",
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "look"},
                        {
                            "type": "input_image",
                            "image_url": "https://x.test/a.png",
                            "detail": "low",
                        },
                        {"type": "input_image", "file_id": "file_img"},
                        {"type": "input_file", "file_id": "file_1", "filename": "a.txt"},
                        {"type": "input_file", "file_data": "data:application/pdf;base64,AA=="},
                        {"type": "input_audio", "input_audio": {"data": "abc", "format": "wav"}},
                    ],
                }
            ],
        }
    )
    assert out["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://x.test/a.png", "detail": "low"},
                },
                {"type": "image_url", "image_url": {"file_id": "file_img"}},
                {"type": "file", "file": {"file_id": "file_1", "filename": "a.txt"}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,AA=="}},
                {"type": "input_audio", "input_audio": {"data": "abc", "format": "wav"}},
            ],
        }
    ]


def test_text_only_parts_join_into_a_string() -> None:
    out = responses_to_chat_request(
        {
            "model": "m",
            "input": [
                {
                    "type": "message",
                    "role": "developer",
                    "content": [{"type": "input_text", "text": "a"}],
                },
                {
                    "role": "assistant",
                    "content": [
                        {"type": "output_text", "text": "b", "annotations": []},
                        {"type": "refusal", "refusal": "c"},
                    ],
                },
                {"content": None},
            ],
        }
    )
    assert out["messages"] == [
        {"role": "developer", "content": "a"},
        {"role": "assistant", "content": "bc"},
        {"role": "user", "content": ""},
    ]


def test_assistant_text_and_function_call_share_one_message() -> None:
    out = responses_to_chat_request(
        {
            "model": "m",
            "input": [
                {"role": "assistant", "content": [{"type": "output_text", "text": "I will call."}]},
                {
                    "type": "function_call",
                    "call_id": "call_1",
                    "name": "lookup",
                    "arguments": {"q": "x"},
                },
                {"type": "function_call", "id": "fc_2", "name": "other", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "call_1", "output": {"ok": True}},
                {
                    "type": "function_call_output",
                    "call_id": "fc_2",
                    "output": [{"type": "input_text", "text": "done"}],
                },
            ],
        }
    )
    assert out["messages"] == [
        {
            "role": "assistant",
            "content": "I will call.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q":"x"}'},
                },
                {
                    "id": "fc_2",
                    "type": "function",
                    "function": {"name": "other", "arguments": "{}"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"ok":true}'},
        {"role": "tool", "tool_call_id": "fc_2", "content": "done"},
    ]


def test_custom_tool_call_and_reasoning_items() -> None:
    out = responses_to_chat_request(
        {
            "model": "m",
            "input": [
                {
                    "type": "reasoning",
                    "id": "rs_1",
                    "summary": [{"type": "summary_text", "text": "x"}],
                },
                {
                    "type": "custom_tool_call",
                    "call_id": "call_c",
                    "name": "apply_patch",
                    "input": "diff",
                },
                {"type": "custom_tool_call_output", "call_id": "call_c", "output": "ok"},
            ],
        }
    )
    assert out["messages"] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_c",
                    "type": "custom",
                    "custom": {"name": "apply_patch", "input": "diff"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_c", "content": "ok"},
    ]


def test_tools_tool_choice_and_text_format() -> None:
    out = responses_to_chat_request(
        {
            "model": "m",
            "input": "hi",
            "tools": [
                {
                    "type": "function",
                    "name": "lookup",
                    "description": "Lookup data",
                    "parameters": {"type": "object"},
                    "strict": True,
                },
                {"type": "custom", "name": "apply_patch", "description": "patch"},
            ],
            "tool_choice": {"type": "function", "name": "lookup"},
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "answer",
                    "schema": {"type": "object"},
                    "strict": True,
                },
                "verbosity": "low",
            },
            "top_logprobs": 2,
        }
    )
    assert out["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": "Lookup data",
                "parameters": {"type": "object"},
                "strict": True,
            },
        },
        {"type": "custom", "custom": {"name": "apply_patch", "description": "patch"}},
    ]
    assert out["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}
    assert out["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
    }
    assert out["verbosity"] == "low"
    assert out["logprobs"] is True and out["top_logprobs"] == 2


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("required", "required"),
        (
            {"type": "custom", "name": "apply_patch"},
            {"type": "custom", "custom": {"name": "apply_patch"}},
        ),
        ({"type": "allowed_tools", "mode": "auto"}, {"type": "allowed_tools", "mode": "auto"}),
    ],
)
def test_tool_choice_forms(choice: Any, expected: Any) -> None:
    out = responses_to_chat_request({"model": "m", "input": "x", "tool_choice": choice})
    assert out["tool_choice"] == expected


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [({"type": "json_object"}, {"type": "json_object"}), ({"type": "text"}, {"type": "text"})],
)
def test_simple_text_formats(fmt: dict[str, Any], expected: dict[str, Any]) -> None:
    out = responses_to_chat_request({"model": "m", "input": "x", "text": {"format": fmt}})
    assert out["response_format"] == expected


def test_parallel_tool_calls_only_when_boolean() -> None:
    out = responses_to_chat_request({"model": "m", "input": "x", "parallel_tool_calls": "yes"})
    assert "parallel_tool_calls" not in out


@pytest.mark.parametrize(
    "field", ["conversation", "previous_response_id", "prompt", "context_management"]
)
def test_stateful_fields_are_refused(field: str) -> None:
    with pytest.raises(ResponsesConversionError, match=f"stateful.*{field}"):
        responses_to_chat_request({"model": "m", "input": "x", field: "v"})


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "request must be an object"),
        ({"input": "x"}, "model is required"),
        ({"model": 3}, "model is required"),
        ({"model": "m", "input": 5}, "input must be a string or an array"),
        ({"model": "m", "input": ["hi"]}, r"input\[0\] must be an object"),
        ({"model": "m", "input": [{"role": "user", "content": 5}]}, "content must be a string"),
        ({"model": "m", "input": [{"role": "user", "content": ["x"]}]}, "must be an object"),
        ({"model": "m", "input": [{"content": [{"type": "input_video"}]}]}, "input_video"),
        ({"model": "m", "input": [{"content": [{"type": "input_image"}]}]}, "image_url or file_id"),
        ({"model": "m", "input": [{"type": "function_call", "arguments": "{}"}]}, "missing name"),
        ({"model": "m", "input": [{"type": "item_reference", "id": "x"}]}, "item_reference"),
        ({"model": "m", "input": [{"type": "web_search_call"}]}, "web_search_call"),
        ({"model": "m", "instructions": ["x"]}, "instructions must be a string"),
        ({"model": "m", "tools": {"type": "function"}}, "tools must be an array"),
        ({"model": "m", "tools": [{"type": "web_search"}]}, "web_search"),
        ({"model": "m", "tool_choice": 3}, "tool_choice must be an object"),
        ({"model": "m", "text": "json"}, "text must be an object"),
        ({"model": "m", "text": {"format": "json"}}, "text.format must be an object"),
        ({"model": "m", "reasoning": "high"}, "reasoning must be an object"),
        ({"model": "m", "input": [{"role": 1}]}, "role must be a string"),
    ],
)
def test_bad_input_raises_a_value_error(payload: Any, message: str) -> None:
    with pytest.raises(ResponsesConversionError, match=message) as info:
        responses_to_chat_request(payload)
    assert isinstance(info.value, ValueError)
