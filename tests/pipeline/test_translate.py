"""Translated streams: the spliced text path writes exactly the bytes of the general path.

Every stream is run twice from the same upstream bytes and network chunking: through
StreamFrames (runs of plain text events spliced by byte templates) and through the reader
and writer alone, one event at a time. Frames, closing frames, the texts counted, usage and
tool calls must all be the same.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay._fast.sse import SSEDecoder
from relay.convert import gemini_response
from relay.pipeline import translate
from relay.pipeline.surface_claude import ClaudeClientStream
from relay.pipeline.surface_gemini import GeminiClientStream
from relay.pipeline.surface_openai import OpenAIClientStream
from relay.pipeline.surface_responses import ResponsesClientStream
from relay.pipeline.translate import StreamFrames
from relay.providers.anthropic.convert import ClaudePivotStream
from relay.providers.base import Usage
from relay.providers.gemini.convert import GeminiPivotStream
from relay.providers.openai.convert import OpenAIPivotStream

Reader = Callable[[Callable[[str], None]], Any]
Writer = Callable[[], Any]

OPENAI_READER: Reader = OpenAIPivotStream
CLAUDE_READER: Reader = lambda sink: ClaudePivotStream(1718000000, sink)  # noqa: E731
GEMINI_READER: Reader = lambda sink: GeminiPivotStream(1718000000, sink)  # noqa: E731
WRITERS: dict[str, Writer] = {
    "claude": lambda: ClaudeClientStream(57),
    "responses": lambda: ResponsesClientStream("chatcmpl-r", 1718000000, "up", {"model": "m"}),
    "gemini": lambda: GeminiClientStream(57),
    "openai": lambda: OpenAIClientStream(True, 1718000000),
}


@pytest.fixture
def spliced(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many events each splice took, for tests that must see the spliced path used."""
    counts: list[int] = []
    real = translate.splice_texts

    def counting(events: Any, start: int, *args: Any) -> tuple[bytes, int]:
        frames, end = real(events, start, *args)
        counts.append(end - start)
        return frames, end

    monkeypatch.setattr(translate, "splice_texts", counting)
    yield counts


def _run(reader_of: Reader, writer_of: Writer, chunks: list[bytes], fast: bool) -> Any:
    ids = itertools.count()
    with mock.patch.object(gemini_response, "new_call_id", lambda: f"call_{next(ids)}"):
        return _run_stream(reader_of, writer_of, chunks, fast)


def _run_stream(reader_of: Reader, writer_of: Writer, chunks: list[bytes], fast: bool) -> Any:
    texts: list[str] = []
    reader, writer = reader_of(texts.append), writer_of()
    decoder = SSEDecoder()
    frames = StreamFrames(reader, writer)

    def general(events: list[Any]) -> bytes:
        return b"".join(writer.feed(c) for e in events for c in reader.feed(e.data))

    run = frames if fast else general
    out = [run(decoder.feed(chunk)) for chunk in chunks]
    out.append(run(decoder.flush()))
    usage = reader.usage()
    out.append(writer.finish(usage or Usage(prompt_tokens=5, completion_tokens=len(texts))))
    return out, texts, usage, reader.tool_calls


def _same(reader_of: Reader, writer: str, chunks: list[bytes]) -> bytes:
    fast = _run(reader_of, WRITERS[writer], chunks, True)
    assert fast == _run(reader_of, WRITERS[writer], chunks, False)
    return b"".join(fast[0])


def _sse(datas: list[bytes], cuts: list[int] | None = None) -> list[bytes]:
    """The events as an SSE body cut into network chunks (every event its own by default)."""
    if cuts is None:
        return [b"data: " + d + b"\n\n" for d in datas]
    body = b"".join(b"data: " + d + b"\n\n" for d in datas)
    at = sorted({c % (len(body) + 1) for c in cuts})
    return [body[a:b] for a, b in zip([0, *at], [*at, len(body)], strict=True)]


# --- OpenAI upstream --------------------------------------------------------------------------

HEAD = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt"}


def _choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {**HEAD, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


TEXTS = st.text(max_size=6) | st.sampled_from(["", " ", '"', "\\", "\n", "é", "😀", "\x00"])


def _openai_chunk(kind: str, text: str) -> dict[str, Any]:
    if kind == "text":
        return _choice({"content": text})
    if kind == "role":
        return _choice({"role": "assistant", "content": text})
    if kind == "reasoning":
        return _choice({"reasoning_content": text})
    if kind == "tool":
        call = {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": text}}
        return _choice({"tool_calls": [call]})
    if kind == "args":
        return _choice({"tool_calls": [{"index": 0, "function": {"arguments": text}}]})
    if kind == "finish":
        return _choice({}, "stop")
    if kind == "usage":
        return {**HEAD, "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}}
    if kind == "other_id":
        return {**_choice({"content": text}), "id": "chatcmpl-2"}
    return {**_choice({"content": text}), "choices": [{"index": 1, "delta": {"content": text}}]}


def _dump(chunk: dict[str, Any], style: int) -> bytes:
    """The chunk as upstreams write it: compact, spaced, or with escaped non-ASCII."""
    if style == 0:
        return orjson.dumps(chunk)
    return json.dumps(chunk, ensure_ascii=style == 2).encode()


OPENAI_EVENTS = st.lists(
    st.tuples(
        st.sampled_from(
            ["text"] * 6 + ["role", "reasoning", "tool", "args", "finish", "usage", "other_id", "n"]
        ),
        TEXTS,
        st.sampled_from([0, 0, 0, 1, 2]),
    ),
    max_size=14,
)


def _openai_datas(events: list[tuple[str, str, int]]) -> list[bytes]:
    datas = [_dump(_openai_chunk(kind, text), style) for kind, text, style in events]
    return [b'{"broken', *datas, b"[DONE]"] if len(datas) % 3 == 1 else [*datas, b"[DONE]"]


@settings(max_examples=150, deadline=None)
@given(
    OPENAI_EVENTS,
    st.lists(st.integers(0, 4000), max_size=8) | st.none(),
    st.sampled_from(list(WRITERS)),
)
def test_openai_upstream_fast_equals_general(
    events: list[tuple[str, str, int]], cuts: list[int] | None, writer: str
) -> None:
    _same(OPENAI_READER, writer, _sse(_openai_datas(events), cuts))


def test_openai_text_run_is_spliced_for_every_client(spliced: list[int]) -> None:
    words = ["Hi", " there", ' "q"', " é😀", " a\\b", " x\ny", " end"]
    datas = [orjson.dumps(_choice({"role": "assistant", "content": ""}))]
    datas += [orjson.dumps(_choice({"content": w})) for w in words]
    datas += [orjson.dumps(_choice({}, "stop")), b"[DONE]"]
    for writer in ("claude", "responses", "gemini"):
        spliced.clear()
        body = _same(OPENAI_READER, writer, _sse(datas))
        assert orjson.dumps(" é😀") in body and b" x\\ny" in body
        assert sum(spliced) == 3, writer  # " there", " é😀", " end": texts without escapes


def test_texts_with_escapes_are_written_by_the_form_not_the_general_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts: list[str] = []
    reader, writer = OpenAIPivotStream(texts.append), ClaudeClientStream(57)
    fed: list[bytes] = []
    feed = reader.feed
    monkeypatch.setattr(reader, "feed", lambda data: fed.append(data) or feed(data))
    datas = [orjson.dumps(_choice({"content": w})) for w in ["a", "b\n", ' "c"', "d\te"]]
    frames = StreamFrames(reader, writer)(SSEDecoder().feed(b"".join(_sse(datas))))
    assert fed == datas[:1]  # only the first chunk, which starts the message and the block
    assert texts == ["a", "b\n", ' "c"', "d\te"]
    assert frames.endswith(b'"text":"d\\te"}}\n\n')


# --- Anthropic upstream -----------------------------------------------------------------------


def _claude_event(kind: str, text: str, index: int) -> dict[str, Any]:
    if kind == "start":
        message = {"id": f"msg_{index}", "model": "claude", "usage": {"input_tokens": 7}}
        return {"type": "message_start", "message": message}
    if kind == "block_text":
        return {"type": "content_block_start", "index": index, "content_block": {"type": "text"}}
    if kind == "block_tool":
        block = {"type": "tool_use", "id": "toolu_1", "name": "f"}
        return {"type": "content_block_start", "index": index, "content_block": block}
    if kind == "text":
        delta = {"type": "text_delta", "text": text}
        return {"type": "content_block_delta", "index": index, "delta": delta}
    if kind == "thinking":
        delta = {"type": "thinking_delta", "thinking": text}
        return {"type": "content_block_delta", "index": index, "delta": delta}
    if kind == "json":
        delta = {"type": "input_json_delta", "partial_json": text}
        return {"type": "content_block_delta", "index": index, "delta": delta}
    if kind == "stop_block":
        return {"type": "content_block_stop", "index": index}
    if kind == "ping":
        return {"type": "ping"}
    if kind == "delta":
        usage = {"output_tokens": 9}
        return {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": usage}
    return {"type": "message_stop"}


CLAUDE_EVENTS = st.lists(
    st.tuples(
        st.sampled_from(
            ["text"] * 6
            + ["start", "block_text", "block_tool", "thinking", "json", "stop_block", "ping"]
            + ["delta", "message_stop"]
        ),
        TEXTS,
        st.sampled_from([0, 0, 0, 1]),
        st.sampled_from([0, 0, 0, 1, 2]),
    ),
    max_size=14,
)


@settings(max_examples=150, deadline=None)
@given(
    CLAUDE_EVENTS,
    st.lists(st.integers(0, 4000), max_size=8) | st.none(),
    st.sampled_from(list(WRITERS)),
)
def test_claude_upstream_fast_equals_general(
    events: list[tuple[str, str, int, int]], cuts: list[int] | None, writer: str
) -> None:
    datas = [_dump(_claude_event(kind, t, i), style) for kind, t, i, style in events]
    _same(CLAUDE_READER, writer, _sse([_dump(_claude_event("start", "", 0), 0), *datas], cuts))


def test_claude_text_run_is_spliced_and_a_new_message_changes_the_template(
    spliced: list[int],
) -> None:
    def text(t: str) -> bytes:
        return orjson.dumps(_claude_event("text", t, 0))

    start = [_claude_event("start", "", 1), _claude_event("block_text", "", 0)]
    datas = [orjson.dumps(e) for e in start] + [text(" a"), text(" b"), text(' "c"')]
    datas += [orjson.dumps(_claude_event("start", "", 2)), text(" d"), text(" e")]
    body = _same(CLAUDE_READER, "openai", _sse(datas))
    assert b'"id":"msg_2"' in body and b'"content":" e"' in body
    assert sum(spliced) == 3  # " b", " d", " e": the slot outlives the new message


# --- Gemini upstream ------------------------------------------------------------------------


def _gemini_event(kind: str, text: str, n: int) -> dict[str, Any]:
    part: dict[str, Any] = {"text": text}
    if kind == "thought":
        part["thought"] = True
    elif kind == "call":
        part = {"functionCall": {"name": "f", "args": {"a": text}}}
    candidate: dict[str, Any] = {"content": {"parts": [part], "role": "model"}, "index": 0}
    if kind == "stop":
        candidate["finishReason"] = "STOP"
    event: dict[str, Any] = {"candidates": [candidate]}
    if kind == "two":
        event["candidates"] = [candidate, {**candidate, "index": 1}]
    if kind != "no_usage":
        usage: dict[str, Any] = {"promptTokenCount": 3, "candidatesTokenCount": n}
        if kind == "zero_usage":
            usage = {"promptTokenCount": 0}
        elif n % 2:
            usage["totalTokenCount"] = 3 + n
            usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": 3}]
        event["usageMetadata"] = usage
    return {**event, "modelVersion": "gemini-x", "responseId": "resp-1"}


GEMINI_EVENTS = st.lists(
    st.tuples(
        st.sampled_from(
            ["text"] * 6 + ["thought", "call", "stop", "two", "no_usage", "zero_usage"]
        ),
        TEXTS,
        st.sampled_from([0, 0, 0, 1, 2]),
    ),
    max_size=14,
)


@settings(max_examples=150, deadline=None)
@given(
    GEMINI_EVENTS,
    st.lists(st.integers(0, 4000), max_size=8) | st.none(),
    st.sampled_from(list(WRITERS)),
)
def test_gemini_upstream_fast_equals_general(
    events: list[tuple[str, str, int]], cuts: list[int] | None, writer: str
) -> None:
    datas = [_dump(_gemini_event(kind, t, n), style) for n, (kind, t, style) in enumerate(events)]
    _same(GEMINI_READER, writer, _sse([orjson.dumps(_gemini_event("text", "", 0)), *datas], cuts))


def test_gemini_text_run_is_spliced_around_the_changing_usage(spliced: list[int]) -> None:
    words = ["Hi", " there", ' "x"', " a", " b", " end"]
    datas = [orjson.dumps(_gemini_event("text", w, n)) for n, w in enumerate(words)]
    datas.append(orjson.dumps(_gemini_event("stop", "", 9)))
    body = _same(GEMINI_READER, "openai", _sse(datas))
    assert b'"content":" end"' in body and b'"completion_tokens":9' in body
    assert sum(spliced) == 3  # " there", " a", " b": " end" has a different usage shape


# --- texts held back from the token counter ---------------------------------------------------


def test_held_texts_are_counted_only_on_flush_or_past_the_limit() -> None:
    counted: list[str] = []
    held = translate.HeldText(counted.append)
    sink = held.texts.append
    sink("a")
    sink("b")
    held.read(100)
    assert counted == []
    held.flush()
    assert counted == ["a", "b"] and held.texts == []
    sink("c")
    held.read(translate.HELD_LIMIT)
    assert counted == ["a", "b"]
    sink("d")
    held.read(1)
    assert counted == ["a", "b", "c", "d"] and held.texts == []
    sink("e")  # the same sink keeps working after a flush
    held.flush()
    assert counted[-1] == "e"
