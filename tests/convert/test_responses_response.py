"""relay.convert.responses_response: non-stream Chat completion ⇄ Responses `response`.

Golden inputs are new-api's fixtures (testdata/golden/response/openai_to_openai_responses and
openai_responses_to_openai). Deliberate differences from new-api's snapshots, each so the output
is what OpenAI sends and the `openai` SDK validates: the reasoning item carries `summary` (not
`content`) and comes before the message; usage is the Responses shape only (no Go-side
billing_usage or chat-style twins); tool_choice/tools/parallel_tool_calls hold OpenAI's defaults
instead of null; and a Responses reasoning `summary` is read into reasoning_content (new-api's
DTO has no `summary` field, so its snapshot loses the reasoning).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from relay.convert.responses_common import ResponsesConversionError
from relay.convert.responses_response import (
    chat_to_responses_response,
    responses_to_chat_response,
)

GOLDEN = Path(__file__).parent / "golden" / "responses"


def _golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def _chat(message: dict[str, Any], finish: str | None = "stop", **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        **extra,
    }


# --- Chat → Responses ---------------------------------------------------------------------------


def test_golden_chat_to_responses() -> None:
    case = _golden("response_chat_to_responses")
    out = chat_to_responses_response(case["input"])
    assert out == case["output"]
    parsed = Response.model_validate(out)
    assert parsed.output_text == "The answer is 42."
    assert parsed.usage is not None and parsed.usage.input_tokens_details.cached_tokens == 3


def test_response_id_and_request_echo() -> None:
    request = {
        "model": "m",
        "instructions": "be brief",
        "max_output_tokens": 50,
        "metadata": {"k": "v"},
        "parallel_tool_calls": False,
        "temperature": 0.3,
        "tool_choice": "required",
        "tools": [{"type": "function", "name": "f", "parameters": {}, "strict": False}],
        "top_p": 0.9,
        "user": "u1",
        "reasoning": {"effort": "low"},
        "text": {"format": {"type": "text"}},
    }
    out = chat_to_responses_response(_chat({"content": "x"}), "resp_9", request)
    assert out["id"] == "resp_9"
    assert out["output"][0]["id"] == "resp_9_msg_0"
    for key in ("instructions", "max_output_tokens", "metadata", "parallel_tool_calls"):
        assert out[key] == request[key]
    for key in ("temperature", "tool_choice", "tools", "top_p", "user", "reasoning", "text"):
        assert out[key] == request[key]
    Response.model_validate(out)


@pytest.mark.parametrize(
    ("finish", "status", "reason"),
    [
        ("length", "incomplete", "max_output_tokens"),
        ("content_filter", "incomplete", "content_filter"),
        ("stop", "completed", None),
        (None, "completed", None),
    ],
)
def test_finish_reason_to_status(finish: str | None, status: str, reason: str | None) -> None:
    out = chat_to_responses_response(_chat({"content": "partial"}, finish))
    assert out["status"] == status
    assert out["output"][0]["status"] == ("incomplete" if reason else "completed")
    assert out["incomplete_details"] == ({"reason": reason} if reason else None)
    Response.model_validate(out)


def test_refusal_parts_and_generated_call_ids() -> None:
    out = chat_to_responses_response(
        _chat(
            {
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                "reasoning": "r",
                "refusal": "no",
                "tool_calls": [
                    {"type": "function", "function": {"name": "f", "arguments": {"x": 1}}}
                ],
            },
            "tool_calls",
        )
    )
    assert out["output"] == [
        {
            "type": "reasoning",
            "id": "chatcmpl-1_reasoning_0",
            "status": "completed",
            "summary": [{"type": "summary_text", "text": "r"}],
        },
        {
            "type": "message",
            "id": "chatcmpl-1_msg_0",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "ab", "annotations": []}],
        },
        {
            "type": "message",
            "id": "chatcmpl-1_refusal_0",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "refusal", "refusal": "no"}],
        },
        {
            "type": "function_call",
            "id": "chatcmpl-1_call_0",
            "status": "completed",
            "call_id": "chatcmpl-1_call_0",
            "name": "f",
            "arguments": '{"x":1}',
        },
    ]
    Response.model_validate(out)


def test_no_choices_and_no_usage() -> None:
    out = chat_to_responses_response({"id": "c", "model": "m", "choices": []})
    assert out["output"] == [] and out["usage"] is None and out["created_at"] == 0
    Response.model_validate(out)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (None, "response must be an object"),
        ({"choices": {}}, "choices must be an array"),
        ({"choices": ["x"]}, r"choices\[0\] must be an object"),
        ({"choices": [{"message": "hi"}]}, "message must be an object"),
        ({"choices": [{"message": {"content": 5}}]}, "content must be a string"),
        ({"choices": [{"message": {"tool_calls": [1]}}]}, "must be an object"),
        ({"id": 5}, "id must be a string"),
    ],
)
def test_chat_bad_input(payload: Any, message: str) -> None:
    with pytest.raises(ResponsesConversionError, match=message):
        chat_to_responses_response(payload)


# --- Responses → Chat ---------------------------------------------------------------------------


def test_golden_responses_to_chat() -> None:
    case = _golden("response_responses_to_chat")
    out = responses_to_chat_response(case["input"])
    assert out == case["output"]
    ChatCompletion.model_validate(out)


def test_chat_id_usage_details_and_custom_tool() -> None:
    out = responses_to_chat_response(
        {
            "id": "resp_1",
            "created_at": 1700000003.0,
            "model": "gpt-5",
            "status": "completed",
            "output": [
                {
                    "type": "reasoning",
                    "id": "rs",
                    "summary": [],
                    "content": [{"type": "reasoning_text", "text": "t"}],
                },
                {
                    "type": "custom_tool_call",
                    "id": "ct",
                    "call_id": "call_c",
                    "name": "patch",
                    "input": "diff",
                },
                {"type": "function_call", "id": "fc", "name": "", "arguments": "{}"},
                {"type": "web_search_call", "id": "ws", "status": "completed"},
            ],
            "usage": {
                "input_tokens": 7,
                "input_tokens_details": {"cached_tokens": 2},
                "output_tokens": 3,
                "output_tokens_details": {"reasoning_tokens": 1},
                "total_tokens": 10,
            },
        },
        "chatcmpl-x",
    )
    assert out == {
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "created": 1700000003,
        "model": "gpt-5",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "",
                    "reasoning_content": "t",
                    "tool_calls": [
                        {
                            "id": "call_c",
                            "type": "function",
                            "function": {"name": "patch", "arguments": "diff"},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 7,
            "completion_tokens": 3,
            "total_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 2},
            "completion_tokens_details": {"reasoning_tokens": 1},
        },
    }
    ChatCompletion.model_validate(out)


def test_summaries_join_as_paragraphs_and_text_falls_back() -> None:
    out = responses_to_chat_response(
        {
            "id": "r",
            "model": "m",
            "output": [
                {
                    "type": "reasoning",
                    "summary": [
                        {"type": "summary_text", "text": "first"},
                        {"type": "summary_text", "text": "\n\nsecond"},
                        {"type": "summary_text", "text": "third"},
                    ],
                },
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "output_text", "text": "odd"}],
                },
            ],
        }
    )
    message = out["choices"][0]["message"]
    assert message["reasoning_content"] == "first\n\nsecond\n\nthird"
    assert message["content"] == "odd"
    assert out["choices"][0]["finish_reason"] == "stop" and "usage" not in out


@pytest.mark.parametrize(
    ("details", "finish"),
    [
        ({"reason": "max_output_tokens"}, "length"),
        ({"reason": "content_filter"}, "content_filter"),
        (None, "length"),
    ],
)
def test_incomplete_status_to_finish_reason(details: Any, finish: str) -> None:
    out = responses_to_chat_response(
        {
            "id": "r",
            "model": "m",
            "status": "incomplete",
            "incomplete_details": details,
            "output": [],
        }
    )
    assert out["choices"][0]["finish_reason"] == finish


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "response must be an object"),
        ({"output": {}}, "output must be an array"),
        ({"output": [3]}, r"output\[0\] must be an object"),
        ({"output": [{"type": "message", "content": "x"}]}, "content must be an array"),
        ({"output": [{"type": "function_call", "name": 3}]}, "name must be a string"),
        ({"model": 1}, "model must be a string"),
    ],
)
def test_responses_bad_input(payload: Any, message: str) -> None:
    with pytest.raises(ResponsesConversionError, match=message):
        responses_to_chat_response(payload)
