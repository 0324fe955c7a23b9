"""relay.providers.gemini.convert: usage, texts, and the two stream readers."""

from __future__ import annotations

from typing import Any

import orjson

from relay.providers.gemini.convert import (
    GeminiPivotStream,
    GeminiStreamObserver,
    pivot_id,
    response_texts,
    usage_of,
)
from relay.providers.pending import PENDING_LIMIT


def event(parts: list[dict[str, Any]], finish: str | None = None, **usage: int) -> bytes:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    body: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gx", "responseId": "r1"}
    if usage:
        body["usageMetadata"] = usage
    return orjson.dumps(body)


CALL = {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}


def test_usage_of_needs_tokens() -> None:
    assert usage_of({}) is None
    assert usage_of({"usageMetadata": {"totalTokenCount": 0}}) is None
    usage = usage_of(
        {
            "usageMetadata": {
                "promptTokenCount": 3,
                "candidatesTokenCount": 2,
                "thoughtsTokenCount": 1,
            }
        }
    )
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (3, 3)


def test_response_texts_count_function_calls() -> None:
    texts: list[str] = []
    body = orjson.loads(event([{"text": "a"}, CALL, {"inlineData": {}}]))
    assert response_texts(body, texts) == 1
    assert texts == ["a", "get_weather", '{"city":"Paris"}']
    assert response_texts({"candidates": "x"}, texts) == 0


def test_pivot_id_prefers_the_response_id() -> None:
    assert pivot_id({"responseId": "r9"}) == "chatcmpl-r9"
    assert pivot_id({}).startswith("chatcmpl-") and len(pivot_id({})) > 20


def test_observer_keeps_the_last_cumulative_usage_and_passes_everything() -> None:
    seen: list[str] = []
    observer = GeminiStreamObserver(seen.append)
    assert observer.observe(event([{"text": "He"}], promptTokenCount=5, candidatesTokenCount=1))
    assert observer.observe(
        event([{"text": "llo"}], "STOP", promptTokenCount=5, candidatesTokenCount=4)
    )
    usage = observer.usage()
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (5, 4)
    observer.flush_text()
    assert seen == []  # counted upstream: nothing kept for a local count


def test_observer_without_usage_counts_text_and_calls() -> None:
    seen: list[str] = []
    observer = GeminiStreamObserver(seen.append)
    observer.observe(event([{"text": "Hi"}]))
    observer.observe(event([CALL], "STOP"))
    observer.observe(b"not json")
    assert observer.usage() is None
    observer.flush_text()
    assert seen == ["Hi", "get_weather", '{"city":"Paris"}'] and observer.tool_calls == 1


def test_observer_bounds_what_it_keeps() -> None:
    seen: list[str] = []
    observer = GeminiStreamObserver(seen.append)
    big = "x" * (PENDING_LIMIT // 2)
    for _ in range(3):
        observer.observe(event([{"text": big}]))
    assert len(seen) == 2  # flushed early once past the limit; the third waits
    observer.flush_text()
    assert len(seen) == 3


def test_pivot_stream_reads_gemini_events_as_openai_chunks() -> None:
    texts: list[str] = []
    reader = GeminiPivotStream(7, texts.append)
    chunks = reader.feed(event([{"text": "Hi"}], promptTokenCount=4, candidatesTokenCount=1))
    chunks += reader.feed(b"garbage")
    chunks += reader.feed(event([CALL], "STOP", promptTokenCount=4, candidatesTokenCount=3))
    assert {c["id"] for c in chunks} == {"chatcmpl-r1"}
    assert {c["model"] for c in chunks} == {"gx"} and {c["created"] for c in chunks} == {7}
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert "".join(d.get("content") or "" for d in deltas) == "Hi"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert reader.tool_calls == 1 and texts == ["Hi"]
    usage = reader.usage()
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (4, 3)


def test_pivot_stream_with_nothing_read_has_no_usage() -> None:
    reader = GeminiPivotStream(1, lambda _: None)
    assert reader.feed(b"[1,2]") == [] and reader.usage() is None and reader.tool_calls == 0
