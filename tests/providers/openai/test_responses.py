"""relay.providers.openai.responses: Responses usage, output text and the stream observer."""

from __future__ import annotations

from typing import Any

import orjson

from relay.providers.base import Usage
from relay.providers.openai.responses import (
    ResponsesStreamObserver,
    is_response,
    output_texts,
    responses_usage,
)
from relay.providers.pending import PENDING_LIMIT

USAGE = {
    "input_tokens": 20,
    "input_tokens_details": {"cached_tokens": 8},
    "output_tokens": 9,
    "output_tokens_details": {"reasoning_tokens": 4},
    "total_tokens": 29,
}


def ev(kind: str, **fields: Any) -> bytes:
    return orjson.dumps({"type": kind, "sequence_number": 0, **fields})


def test_shape_and_usage() -> None:
    assert is_response({"object": "response"}) and not is_response({"object": "chat.completion"})
    assert responses_usage({"usage": USAGE}) == Usage(20, 9, cached_tokens=8)
    assert responses_usage({"usage": None}) is None


def test_output_texts_of_every_item_kind() -> None:
    body = {
        "output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "think"}]},
            {"type": "message", "content": [{"type": "output_text", "text": "hi"}]},
            {"type": "message", "content": [{"type": "refusal", "refusal": "no"}]},
            {"type": "function_call", "name": "f", "arguments": '{"a":1}'},
            {"type": "custom_tool_call", "name": "g", "input": "raw"},
            "junk",
        ]
    }
    texts: list[str] = []
    assert output_texts(body, texts) == 2
    assert texts == ["think", "hi", "no", "f", '{"a":1}', "g", "raw"]
    assert output_texts({"output": None}, []) == 0


def test_observer_reads_usage_from_the_terminal_event_and_keeps_everything() -> None:
    texts: list[str] = []
    obs = ResponsesStreamObserver(texts.append)
    assert obs.observe(ev("response.output_text.delta", delta="hel")) is True
    for kind in ("response.completed", "response.incomplete"):
        obs = ResponsesStreamObserver(texts.append)
        assert obs.observe(ev(kind, response={"usage": USAGE})) is True
        assert obs.usage() == Usage(20, 9, cached_tokens=8)
    failed = ResponsesStreamObserver(texts.append)
    assert failed.observe(ev("response.failed", response={"usage": None})) is True
    assert failed.usage() is None
    assert failed.observe(b'not json with "response.completed"') is True
    obs.flush_text()
    assert texts == []  # usage is known: nothing was kept for counting


def test_observer_counts_text_and_tool_calls_when_usage_never_comes() -> None:
    texts: list[str] = []
    obs = ResponsesStreamObserver(texts.append)
    item = {"type": "function_call", "name": "get_weather", "arguments": ""}
    for data in (
        ev("response.created", response={"usage": None}),
        ev("response.output_text.delta", delta="hello"),
        ev("response.reasoning_summary_text.delta", delta="hmm"),
        ev("response.output_item.added", item=item),
        ev("response.function_call_arguments.delta", delta='{"city"'),
        b"garbage",
        b"[1]",
    ):
        assert obs.observe(data) is True
    assert obs.usage() is None
    obs.flush_text()
    assert texts == ["hello", "hmm", "get_weather", '{"city"']
    assert obs.tool_calls == 1


def test_observer_memory_stays_bounded() -> None:
    texts: list[str] = []
    obs = ResponsesStreamObserver(texts.append)
    piece = "x" * 1000
    for _ in range(PENDING_LIMIT // 1000 + 2):
        obs.observe(ev("response.output_text.delta", delta=piece))
    assert texts  # flushed on the way, before the end
