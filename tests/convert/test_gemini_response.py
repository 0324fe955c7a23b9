"""Gemini generateContent response → OpenAI chat.completion, and Gemini usage."""

from __future__ import annotations

import re
from typing import Any

import pytest

from relay.convert.gemini_common import GeminiConversionError
from relay.convert.gemini_response import (
    GeminiEmptyResponse,
    gemini_to_openai_response,
    gemini_usage,
    has_usage_tokens,
)
from relay.providers.base import Usage


def convert(body: dict[str, Any], **kw: Any) -> tuple[dict[str, Any], Usage | None]:
    return gemini_to_openai_response(body, response_id="chatcmpl-1", created=5, model="m", **kw)


def candidate(
    parts: list[dict[str, Any]], finish: str | None = "STOP", **kw: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"content": {"role": "model", "parts": parts}, **kw}
    if finish is not None:
        out["finishReason"] = finish
    return out


def test_text_thoughts_and_usage() -> None:
    body = {
        "candidates": [
            candidate(
                [{"text": "Let me think.", "thought": True}, {"text": "Hi"}, {"text": "there"}]
            )
        ],
        "usageMetadata": {
            "promptTokenCount": 8,
            "candidatesTokenCount": 3,
            "thoughtsTokenCount": 4,
            "cachedContentTokenCount": 2,
            "totalTokenCount": 15,
        },
    }
    response, usage = convert(body)
    assert response == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 5,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hi\nthere",
                    "reasoning_content": "Let me think.",
                },
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 8,
            "completion_tokens": 7,
            "total_tokens": 15,
            "prompt_tokens_details": {
                "cached_tokens": 2,
                "text_tokens": 8,
                "audio_tokens": 0,
                "image_tokens": 0,
            },
            "completion_tokens_details": {
                "text_tokens": 0,
                "audio_tokens": 0,
                "image_tokens": 0,
                "reasoning_tokens": 4,
            },
        },
    }
    assert usage == Usage(prompt_tokens=8, completion_tokens=7, cached_tokens=2)


def test_media_code_and_function_calls() -> None:
    parts = [
        {"inlineData": {"mimeType": "image/png", "data": "QUJD"}},
        {"inlineData": {"mimeType": "audio/wav", "data": "V0FW"}},
        {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1"}},
        {"text": "\n"},
        {"functionCall": {"name": "lookup", "args": {"q": "x"}}},
        {"functionCall": {"name": "noargs"}},
    ]
    response, _ = convert({"candidates": [candidate(parts)]})
    message = response["choices"][0]["message"]
    assert message["content"] == (
        "![image](data:image/png;base64,QUJD)\n[media](data:audio/wav;base64,V0FW)\n"
        "```PYTHON\nprint(1)\n```\n```output\n1\n```"
    )
    calls = message["tool_calls"]
    assert [c["function"] for c in calls] == [
        {"name": "lookup", "arguments": '{"q":"x"}'},
        {"name": "noargs", "arguments": "{}"},
    ]
    assert all(re.fullmatch(r"call_[0-9a-f]{32}", c["id"]) for c in calls)
    assert calls[0]["id"] != calls[1]["id"]
    assert {c["type"] for c in calls} == {"function"}
    assert response["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("reason", "finish"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("OTHER", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "content_filter"),
        (None, "stop"),
    ],
)
def test_finish_reasons(reason: str | None, finish: str) -> None:
    response, _ = convert({"candidates": [candidate([{"text": "x"}], reason)]})
    assert response["choices"][0]["finish_reason"] == finish


def test_several_candidates_keep_their_index() -> None:
    body = {
        "candidates": [candidate([{"text": "a"}], index=0), candidate([], "MAX_TOKENS", index=1)]
    }
    response, _ = convert(body)
    assert [
        (c["index"], c["message"]["content"], c["finish_reason"]) for c in response["choices"]
    ] == [
        (0, "a", "stop"),
        (1, "", "length"),
    ]


def test_no_usage_means_count_locally() -> None:
    response, usage = convert(
        {"candidates": [candidate([{"text": "x"}])]}, fallback_prompt_tokens=9
    )
    assert usage is None
    assert response["usage"]["prompt_tokens"] == 9
    _, usage = convert({"candidates": [candidate([])], "usageMetadata": {"totalTokenCount": 0}})
    assert usage is None


def test_usage_rules() -> None:
    read = gemini_usage(
        {
            "promptTokenCount": 10,
            "toolUsePromptTokenCount": 5,
            "totalTokenCount": 20,
            "promptTokensDetails": [
                {"modality": "TEXT", "tokenCount": 6},
                {"modality": "IMAGE", "tokenCount": 4},
            ],
            "toolUsePromptTokensDetails": [{"modality": "TEXT", "tokenCount": 5}],
            "candidatesTokensDetails": [{"modality": "IMAGE", "tokenCount": 3}],
        }
    )
    # prompt includes tool-use tokens; no candidates count → completion = total − prompt.
    assert read.usage == Usage(prompt_tokens=15, completion_tokens=5, image_tokens=4)
    assert read.openai["prompt_tokens_details"] == {
        "cached_tokens": 0,
        "text_tokens": 11,
        "audio_tokens": 0,
        "image_tokens": 4,
    }
    assert read.openai["completion_tokens_details"]["image_tokens"] == 3
    fallback = gemini_usage({"candidatesTokenCount": 3, "totalTokenCount": 3}, 12)
    assert fallback.usage == Usage(prompt_tokens=12, completion_tokens=3)
    assert fallback.openai["total_tokens"] == 3  # as Gemini reported
    odd = gemini_usage({"promptTokenCount": "9", "candidatesTokenCount": True})
    assert odd.usage == Usage()


def test_has_usage_tokens() -> None:
    assert not has_usage_tokens(None)
    assert not has_usage_tokens({"promptTokenCount": 0, "promptTokensDetails": []})
    assert has_usage_tokens({"cachedContentTokenCount": 1})
    assert has_usage_tokens({"promptTokensDetails": [{"modality": "TEXT", "tokenCount": 1}]})


def test_empty_candidates() -> None:
    with pytest.raises(GeminiEmptyResponse) as blocked:
        convert({"promptFeedback": {"blockReason": "SAFETY"}})
    assert (blocked.value.status, blocked.value.code) == (400, "prompt_blocked")
    assert str(blocked.value) == "request blocked by Gemini API: SAFETY"
    with pytest.raises(GeminiEmptyResponse) as empty:
        convert({"candidates": []})
    assert (empty.value.status, empty.value.code) == (500, "empty_response")


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"candidates": {"a": 1}},
        {"candidates": ["x"]},
        {"candidates": [{"content": "hello"}]},
        {"candidates": [{"content": {"parts": "hello"}}]},
        {"candidates": [{"content": {"parts": ["hello"]}}]},
        {"candidates": [{"content": {"parts": [{"text": 5}]}}]},
        {"candidates": [{"content": {"parts": [{"inlineData": "x"}]}}]},
        {"candidates": [{"content": {"parts": [{"functionCall": {"name": 1}}]}}]},
        {"candidates": [], "promptFeedback": "blocked"},
    ],
)
def test_bad_input_raises_a_clear_error(body: Any) -> None:
    with pytest.raises(GeminiConversionError):
        convert(body)
