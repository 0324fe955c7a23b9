"""relay.providers.anthropic.convert: usage and text read from Claude streams."""

from __future__ import annotations

from typing import Any

import orjson

from relay.providers.anthropic.convert import ClaudePivotStream, ClaudeStreamObserver
from relay.providers.base import Usage

EVENTS: list[dict[str, Any]] = [
    {"type": "message_start", "message": {"id": "m", "model": "c", "usage": {
        "input_tokens": 7, "cache_read_input_tokens": 2, "cache_creation_input_tokens": 3,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 3},
        "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
    {"type": "content_block_start", "index": 1,
     "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}}},
    {"type": "content_block_delta", "index": 1,
     "delta": {"type": "input_json_delta", "partial_json": "{}"}},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 6}},
    {"type": "message_stop"},
]  # fmt: skip
DATA = [orjson.dumps(e) for e in EVENTS]
FULL = Usage(
    prompt_tokens=7,
    completion_tokens=6,
    cached_tokens=2,
    cache_write_tokens=3,
    cache_write_1h_tokens=3,
    anthropic=True,
)


def test_observer_reads_usage_and_keeps_every_event() -> None:
    texts: list[str] = []
    observer = ClaudeStreamObserver(texts.append)
    assert all(observer.observe(d) for d in DATA)
    assert observer.usage() == FULL
    observer.flush_text()
    assert texts == []  # usage came: nothing needed counting


def test_observer_without_message_delta_keeps_message_start_usage_partial() -> None:
    texts: list[str] = []
    observer = ClaudeStreamObserver(texts.append)
    for d in DATA[:6]:  # cut before message_delta
        observer.observe(d)
    usage = observer.usage()
    assert usage is not None and usage.partial and usage.cached_tokens == 2
    observer.flush_text()
    assert texts == ["", "hi", "f", "{}", "{}"] and observer.tool_calls == 1


def test_pivot_stream_turns_events_into_chunks() -> None:
    texts: list[str] = []
    reader = ClaudePivotStream(0, texts.append)
    chunks = [c for d in DATA for c in reader.feed(d)]
    assert reader.feed(b"not json") == []
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert reader.usage() == FULL and reader.tool_calls == 1
    assert "".join(texts) == "hif{}"
