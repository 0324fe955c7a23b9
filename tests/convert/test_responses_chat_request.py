"""relay.convert.responses_chat_request: a Chat Completions request → a Responses request.

The golden case is new-api's fixture (testdata/golden/request/openai_to_openai_responses); the
output matches it field for field, plus the image `detail` new-api drops.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from relay.convert.responses_chat_request import chat_to_responses_request
from relay.convert.responses_common import ResponsesConversionError

GOLDEN = Path(__file__).parent / "golden" / "responses"


def _golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def test_golden_new_api_fixture() -> None:
    case = _golden("request_chat_to_responses")
    assert chat_to_responses_request(case["input"]) == case["output"]


def test_scalars_reasoning_and_limits() -> None:
    out = chat_to_responses_request(
        {
            "model": "gpt-5",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 100,
            "max_completion_tokens": 300,
            "temperature": 0.2,
            "top_p": 0.5,
            "user": "u",
            "store": True,
            "metadata": {"a": "b"},
            "parallel_tool_calls": False,
            "reasoning_effort": "high",
            "stream": False,
            "stream_options": {"include_usage": True},
            "verbosity": "high",
            "n": 1,
        }
    )
    assert out == {
        "model": "gpt-5",
        "input": [{"role": "user", "content": "hi"}],
        "max_output_tokens": 300,
        "temperature": 0.2,
        "top_p": 0.5,
        "user": "u",
        "store": True,
        "metadata": {"a": "b"},
        "parallel_tool_calls": False,
        "reasoning": {"effort": "high", "summary": "detailed"},
        "stream": False,
        "text": {"verbosity": "high"},
    }


def test_system_and_developer_become_instructions() -> None:
    out = chat_to_responses_request(
        {
            "model": "m",
            "messages": [
                {"role": "system", "content": " one "},
                {
                    "role": "developer",
                    "content": [{"type": "text", "text": "two"}, {"type": "text", "text": "three"}],
                },
                {"role": "system", "content": None},
                {"role": "", "content": "ignored"},
                {"role": "user", "content": "q"},
            ],
        }
    )
    assert out["instructions"] == "one\n\ntwo\nthree"
    assert out["input"] == [{"role": "user", "content": "q"}]


def test_parts_and_tool_messages() -> None:
    out = chat_to_responses_request(
        {
            "model": "m",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "see"},
                        {"type": "image_url", "image_url": "https://x.test/i.png"},
                        {"type": "input_audio", "input_audio": {"data": "AA", "format": "mp3"}},
                        {"type": "file", "file": {"file_id": "f1", "filename": "a.pdf"}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": [{"type": "text", "text": "calling"}],
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        },
                        {
                            "id": "c2",
                            "type": "custom",
                            "custom": {"name": "patch", "input": "diff"},
                        },
                        {"id": "", "type": "function", "function": {"name": "skipped"}},
                        {"id": "c3", "type": "function", "function": {"name": ""}},
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "r"}]},
                {"role": "tool", "tool_call_id": "c2", "content": {"k": 1}},
                {"role": "tool", "content": "orphan"},
            ],
        }
    )
    assert out["input"] == [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "see"},
                {"type": "input_image", "image_url": "https://x.test/i.png"},
                {"type": "input_audio", "input_audio": {"data": "AA", "format": "mp3"}},
                {"type": "input_file", "file_id": "f1", "filename": "a.pdf"},
            ],
        },
        {"role": "assistant", "content": [{"type": "output_text", "text": "calling"}]},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "custom_tool_call", "call_id": "c2", "name": "patch", "input": "diff"},
        {"type": "function_call_output", "call_id": "c1", "output": "r"},
        {"type": "function_call_output", "call_id": "c2", "output": '{"k":1}'},
        {"role": "user", "content": "[tool_output_missing_call_id] orphan"},
    ]


def test_tools_tool_choice_and_response_format() -> None:
    out = chat_to_responses_request(
        {
            "model": "m",
            "messages": [],
            "tools": [
                {
                    "type": "function",
                    "function": {"name": "f", "parameters": {"type": "object"}, "strict": True},
                },
                {"type": "custom", "custom": {"name": "patch", "description": "d"}},
                {"type": "web_search"},
            ],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "a", "schema": {"type": "object"}, "strict": True},
            },
        }
    )
    assert out["tools"] == [
        {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True},
        {"type": "custom", "name": "patch", "description": "d"},
        {"type": "web_search"},
    ]
    assert out["tool_choice"] == {"type": "function", "name": "f"}
    assert out["text"] == {
        "format": {"type": "json_schema", "name": "a", "schema": {"type": "object"}, "strict": True}
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("none", "none"),
        ({"type": "function", "name": "f"}, {"type": "function", "name": "f"}),
        ({"type": "custom", "custom": {"name": "p"}}, {"type": "custom", "name": "p"}),
        ({"type": "allowed_tools", "x": 1}, {"type": "allowed_tools", "x": 1}),
    ],
)
def test_tool_choice_forms(choice: Any, expected: Any) -> None:
    out = chat_to_responses_request({"model": "m", "messages": [], "tool_choice": choice})
    assert out["tool_choice"] == expected


def test_json_object_format() -> None:
    out = chat_to_responses_request(
        {"model": "m", "messages": [], "response_format": {"type": "json_object"}}
    )
    assert out["text"] == {"format": {"type": "json_object"}}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("x", "request must be an object"),
        ({"messages": []}, "model is required"),
        ({"model": "m", "n": 2}, "n>1"),
        ({"model": "m", "messages": {}}, "messages must be an array"),
        ({"model": "m", "messages": [1]}, r"messages\[0\] must be an object"),
        ({"model": "m", "messages": [{"role": "user", "content": 1}]}, "content must be"),
        ({"model": "m", "messages": [{"role": "system", "content": 1}]}, "content must be"),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "video"}]}]},
            "video",
        ),
        ({"model": "m", "messages": [{"role": "assistant", "tool_calls": {}}]}, "tool_calls"),
        ({"model": "m", "max_tokens": "10"}, "max_tokens must be an integer"),
        ({"model": "m", "tools": [3]}, "must be an object"),
        ({"model": "m", "response_format": "json"}, "response_format must be an object"),
        ({"model": "m", "messages": [{"role": ["user"]}]}, "role must be a string"),
    ],
)
def test_bad_input_raises_a_value_error(payload: Any, message: str) -> None:
    with pytest.raises(ResponsesConversionError, match=message) as info:
        chat_to_responses_request(payload)
    assert isinstance(info.value, ValueError)
