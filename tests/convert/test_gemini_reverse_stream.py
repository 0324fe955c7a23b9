"""OpenAI chat chunks → Gemini stream events (Gemini clients on OpenAI-type channels)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from relay.convert.gemini_common import GeminiConversionError
from relay.convert.gemini_reverse_stream import OpenAIToGeminiStream
from relay.providers.base import Usage


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return orjson.dumps({"id": "c", "object": "chat.completion.chunk", "choices": choices, **extra})


def meta(prompt: int, completion: int = 0, total: int | None = None) -> dict[str, int]:
    return {
        "promptTokenCount": prompt,
        "toolUsePromptTokenCount": 0,
        "candidatesTokenCount": completion,
        "totalTokenCount": prompt + completion if total is None else total,
        "thoughtsTokenCount": 0,
        "cachedContentTokenCount": 0,
    }


def event(parts: list[dict[str, Any]], finish: str | None, usage: dict[str, int]) -> dict[str, Any]:
    candidate = {
        "content": {"role": "model", "parts": parts},
        "finishReason": finish,
        "index": 0,
        "safetyRatings": [],
    }
    return {"candidates": [candidate], "usageMetadata": usage}


def run(state: OpenAIToGeminiStream, chunks: list[bytes]) -> list[dict[str, Any]]:
    out = []
    for data in chunks:
        out.extend(state.feed(data))
    return out + state.finish()


def test_finish_waits_for_the_separate_usage_chunk() -> None:
    state = OpenAIToGeminiStream(prompt_estimate=11)
    out = run(
        state,
        [
            chunk({"role": "assistant", "content": ""}),
            chunk({"reasoning_content": "hmm"}),
            chunk({"content": "Hi"}),
            chunk({}, "length"),
            chunk(usage={"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}),
            b"[DONE]",
        ],
    )
    assert out == [
        event([{"text": "Hi"}], None, meta(11, 0, 11)),
        event([], "MAX_TOKENS", meta(12, 3)),
    ]
    assert state.usage() == Usage(prompt_tokens=12, completion_tokens=3)


def test_tool_call_fragments_are_joined() -> None:
    calls = [
        {
            "index": 0,
            "id": "call_a",
            "type": "function",
            "function": {"name": "get", "arguments": ""},
        },
        {"index": 0, "function": {"arguments": '{"ci'}},
        {"index": 0, "function": {"arguments": 'ty":"Oslo"}'}},
        {"index": 1, "id": "call_b", "function": {"name": "now", "arguments": ""}},
    ]
    out = run(
        OpenAIToGeminiStream(),
        [chunk({"tool_calls": [c]}) for c in calls] + [chunk({}, "tool_calls")],
    )
    parts = [
        {"functionCall": {"name": "get", "args": {"city": "Oslo"}}},
        {"functionCall": {"name": "now", "args": {}}},
    ]
    assert out == [event(parts, "STOP", meta(0))]  # no usage ever came: the estimate stands in


def test_content_filter_and_no_finish() -> None:
    out = run(OpenAIToGeminiStream(), [chunk({"content": "x"}, "content_filter")])
    assert out[-1]["candidates"][0]["finishReason"] == "SAFETY"
    assert run(OpenAIToGeminiStream(), [chunk({"content": "x"})]) == [
        event([{"text": "x"}], None, meta(0))
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"{",
        b'"x"',
        b'{"choices": {}}',
        b'{"choices": ["x"]}',
        b'{"choices": [{"delta": {"tool_calls": {}}}]}',
        b'{"choices": [{"delta": {"tool_calls": [{"function": {"arguments": 1}}]}}]}',
    ],
)
def test_bad_chunks_raise_a_clear_error(data: bytes) -> None:
    with pytest.raises(GeminiConversionError):
        OpenAIToGeminiStream().feed(data)
