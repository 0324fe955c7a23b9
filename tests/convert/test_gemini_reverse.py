"""Gemini clients on OpenAI-type channels: the request to OpenAI and the response back."""

from __future__ import annotations

from typing import Any

import pytest

from relay.convert.gemini_common import GeminiConversionError
from relay.convert.gemini_reverse import gemini_to_openai_request, openai_to_gemini_response


def convert(payload: dict[str, Any], stream: bool = True) -> dict[str, Any]:
    return gemini_to_openai_request(payload, model="gpt-4o", stream=stream)


def test_messages_media_and_config() -> None:
    got = convert(
        {
            "system_instruction": {"parts": [{"text": "Be brief."}, {"text": "Be kind."}]},
            "contents": [
                {
                    "parts": [
                        {"text": "Look"},
                        {"inline_data": {"mime_type": "image/png", "data": "QQ=="}},
                    ]
                },
                {
                    "role": "model",
                    "parts": [{"text": "thinking", "thought": True}, {"text": "A cat."}],
                },
                {
                    "role": "user",
                    "parts": [{"fileData": {"mimeType": "video/mp4", "fileUri": "gs://b/v.mp4"}}],
                },
                {"role": "user", "parts": []},
            ],
            "generationConfig": {
                "temperature": 0,
                "topP": 0.5,
                "topK": 40,
                "maxOutputTokens": 99,
                "stopSequences": ["a", "b", "c", "d", "e"],
                "candidateCount": 2,
                "thinkingConfig": {"thinkingBudget": 100},
            },
        }
    )
    assert got == {
        "model": "gpt-4o",
        "stream": True,
        "messages": [
            {"role": "system", "content": "Be brief.\nBe kind."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;base64,QQ==", "detail": "auto"},
                    },
                ],
            },
            {"role": "assistant", "content": "A cat."},
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "gs://b/v.mp4", "detail": "auto"}}
                ],
            },
        ],
        "temperature": 0,
        "top_p": 0.5,
        "top_k": 40,
        "max_tokens": 99,
        "stop": ["a", "b", "c", "d"],
        "n": 2,
    }


def test_function_calls_and_responses_are_paired_by_name() -> None:
    got = convert(
        {
            "contents": [
                {"role": "user", "parts": [{"text": "weather in two cities?"}]},
                {
                    "role": "model",
                    "parts": [
                        {"text": "Checking."},
                        {"functionCall": {"name": "weather", "args": {"city": "Oslo"}}},
                        {"functionCall": {"name": "weather", "args": {"city": "Rome"}}},
                    ],
                },
                {
                    "role": "user",
                    "parts": [
                        {"functionResponse": {"name": "weather", "response": {"t": 1}}},
                        {"functionResponse": {"name": "weather", "response": {"t": 20}}},
                        {"functionResponse": {"name": "stray", "response": {}}},
                        {"text": "Thanks"},
                    ],
                },
            ],
            "tools": [
                {"googleSearch": {}},
                {
                    "functionDeclarations": [
                        {
                            "name": "weather",
                            "description": "W",
                            "parameters": {
                                "type": "OBJECT",
                                "properties": {"city": {"type": "STRING"}},
                            },
                        },
                        {"name": "now"},
                    ]
                },
            ],
        }
    )
    assert got["messages"][1] == {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
            },
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city":"Rome"}'},
            },
        ],
    }
    assert got["messages"][2:] == [
        {"role": "tool", "content": '{"t":1}', "tool_call_id": "call_1"},
        {"role": "tool", "content": '{"t":20}', "tool_call_id": "call_2"},
        {"role": "tool", "content": "{}", "tool_call_id": "call_3"},
        {"role": "user", "content": "Thanks"},
    ]
    assert got["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "W",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        },
        {"type": "function", "function": {"name": "now"}},
    ]


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"contents": {"parts": []}},
        {"contents": ["hi"]},
        {"contents": [{"parts": "hi"}]},
        {"contents": [{"parts": [{"text": 1}]}]},
        {"contents": [{"parts": [{"functionCall": "f"}]}]},
        {"contents": [], "systemInstruction": "be nice"},
        {"contents": [], "generationConfig": {"temperature": "0"}},
        {"contents": [], "generationConfig": {"stopSequences": "END"}},
        {"contents": [], "tools": [{"functionDeclarations": {"name": "f"}}]},
    ],
)
def test_bad_requests_raise_a_clear_error(payload: Any) -> None:
    with pytest.raises(GeminiConversionError):
        convert(payload)


@pytest.mark.parametrize(
    ("finish", "reason"),
    [
        ("stop", "STOP"),
        ("length", "MAX_TOKENS"),
        ("content_filter", "SAFETY"),
        ("tool_calls", "STOP"),
        (None, "STOP"),
    ],
)
def test_response_finish_reasons(finish: str | None, reason: str) -> None:
    body = {"choices": [{"index": 0, "message": {"content": "x"}, "finish_reason": finish}]}
    assert openai_to_gemini_response(body)["candidates"][0]["finishReason"] == reason


def test_response_parts_and_usage() -> None:
    body = {
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": [{"type": "text", "text": "Hi"}],
                    "tool_calls": [
                        {"function": {"name": "a", "arguments": ""}},
                        {"function": {"name": "b", "arguments": "not json"}},
                        {"function": {"name": "c", "arguments": "[1]"}},
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4},
    }
    got = openai_to_gemini_response(body)
    assert got == {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "Hi"},
                        {"functionCall": {"name": "a", "args": {}}},
                        {"functionCall": {"name": "b", "args": {"arguments": "not json"}}},
                        {"functionCall": {"name": "c", "args": {"arguments": "[1]"}}},
                    ],
                },
                "finishReason": "STOP",
                "index": 0,
                "safetyRatings": [],
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 3,
            "toolUsePromptTokenCount": 0,
            "candidatesTokenCount": 4,
            "totalTokenCount": 7,
            "thoughtsTokenCount": 0,
            "cachedContentTokenCount": 0,
        },
    }


@pytest.mark.parametrize(
    "body",
    [
        "x",
        {"choices": {}},
        {"choices": ["x"]},
        {"choices": [{"message": "x"}]},
        {"choices": [{"message": {"content": 5}}]},
        {"choices": [{"message": {"tool_calls": [{"function": {"name": "f", "arguments": {}}}]}}]},
    ],
)
def test_bad_responses_raise_a_clear_error(body: Any) -> None:
    with pytest.raises(GeminiConversionError):
        openai_to_gemini_response(body)
