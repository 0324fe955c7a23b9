"""relay.convert.claude_stream: the two stream state machines.

The text fixtures are new-api's golden stream inputs (relaykit/relayconvert/golden_test.go).
"""

from __future__ import annotations

from typing import Any

from relay.convert.claude_stream import ClaudeToOpenAIStream, OpenAIToClaudeStream
from relay.providers.base import Usage


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fixed",
        "object": "chat.completion.chunk",
        "model": "gpt-test",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def _run(chunks: list[dict[str, Any]], usage: Usage, estimate: int = 0) -> list[dict[str, Any]]:
    machine = OpenAIToClaudeStream(estimate)
    events = [e for c in chunks for e in machine.feed(c)]
    return events + machine.finish(usage)


def test_openai_to_claude_golden_text() -> None:
    chunks = [
        _chunk({"role": "assistant", "content": "Hello"}),
        _chunk({"content": " world"}),
        _chunk({}, "stop", usage={"prompt_tokens": 4, "completion_tokens": 2}),
    ]
    events = _run(chunks, Usage(prompt_tokens=4, completion_tokens=2), estimate=3)
    assert events == [
        {
            "type": "message_start",
            "message": {
                "id": "chatcmpl-fixed",
                "type": "message",
                "role": "assistant",
                "model": "gpt-test",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 3, "output_tokens": 0},  # the local estimate
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "text_delta", "text": "Hello"}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "text_delta", "text": " world"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {
                "input_tokens": 4,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 2,
            },
        },
        {"type": "message_stop"},
    ]  # fmt: skip


def test_openai_to_claude_thinking_text_then_parallel_tools() -> None:
    chunks = [
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"reasoning_content": "think"}),
        _chunk({"content": "ok"}),
        _chunk(
            {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": ""}}]}
        ),
        _chunk(
            {"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g", "arguments": "{"}}]}
        ),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
        _chunk({"tool_calls": [{"index": 1, "function": {"arguments": "}"}}]}),
        _chunk({}, "tool_calls"),
    ]
    events = _run(chunks, Usage(prompt_tokens=1, completion_tokens=1))
    shape = [(e["type"], e.get("index")) for e in events]
    assert shape == [
        ("message_start", None),
        ("content_block_start", 0),  # thinking
        ("content_block_delta", 0),
        ("content_block_stop", 0),
        ("content_block_start", 1),  # text
        ("content_block_delta", 1),
        ("content_block_stop", 1),
        ("content_block_start", 2),  # tool a
        ("content_block_start", 3),  # tool b
        ("content_block_delta", 3),
        ("content_block_delta", 2),
        ("content_block_delta", 3),
        ("content_block_stop", 2),
        ("content_block_stop", 3),
        ("message_delta", None),
        ("message_stop", None),
    ]
    assert events[1]["content_block"] == {"type": "thinking", "thinking": ""}
    assert events[2]["delta"] == {"type": "thinking_delta", "thinking": "think"}
    assert events[8]["content_block"] == {"type": "tool_use", "id": "b", "name": "g", "input": {}}
    assert events[9]["delta"] == {"type": "input_json_delta", "partial_json": "{"}
    assert events[-2]["delta"]["stop_reason"] == "tool_use"


def test_openai_to_claude_empty_stream_still_frames_a_message() -> None:
    events = _run([], Usage(prompt_tokens=2))
    assert [e["type"] for e in events] == ["message_start", "message_delta", "message_stop"]
    assert events[1]["delta"]["stop_reason"] == "end_turn"
    machine = OpenAIToClaudeStream(0)
    machine.finish(Usage())
    assert machine.feed(_chunk({"content": "late"})) == [] and machine.finish(Usage()) == []


def test_openai_to_claude_length_and_usage_only_chunks() -> None:
    chunks = [
        _chunk({"content": "a"}, "length"),
        {"id": "x", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 1}},
    ]
    usage = Usage(prompt_tokens=9, completion_tokens=1, cached_tokens=2, cache_write_tokens=3)
    events = _run(chunks, usage)
    assert events[-2]["delta"]["stop_reason"] == "max_tokens"
    assert events[-2]["usage"]["input_tokens"] == 4  # cache writes reported: cache excluded


CLAUDE_EVENTS: list[dict[str, Any]] = [
    {"type": "message_start", "message": {"id": "msg_fixed", "type": "message", "role": "assistant",
     "model": "claude-test", "content": [], "usage": {"input_tokens": 4, "output_tokens": 0,
     "cache_read_input_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0,
     "delta": {"type": "text_delta", "text": "Hello world"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}},
    {"type": "message_stop"},
]  # fmt: skip


def _deltas(chunks: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str | None]]:
    return [(c["choices"][0]["delta"], c["choices"][0]["finish_reason"]) for c in chunks]


def test_claude_to_openai_golden_text() -> None:
    texts: list[str] = []
    machine = ClaudeToOpenAIStream(created=0, text_sink=texts.append)
    chunks = [c for e in CLAUDE_EVENTS for c in machine.feed(e)]
    assert _deltas(chunks) == [
        ({"role": "assistant", "content": ""}, None),
        ({"content": ""}, None),
        ({"content": "Hello world"}, None),
        ({}, "stop"),
    ]
    assert all(c["id"] == "msg_fixed" and c["model"] == "claude-test" for c in chunks)
    assert all(c["object"] == "chat.completion.chunk" and c["created"] == 0 for c in chunks)
    assert machine.usage == Usage(
        prompt_tokens=4, completion_tokens=2, cached_tokens=1, anthropic=True
    )
    assert "".join(texts) == "Hello world"


def test_claude_to_openai_thinking_and_tools() -> None:
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": "m", "model": "c", "usage": {}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking"}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "thinking_delta", "thinking": "hm"}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "signature_delta", "signature": "s"}},
        {"type": "content_block_start", "index": 1,
         "content_block": {"type": "tool_use", "id": "t1", "name": "f", "input": {}}},
        {"type": "content_block_delta", "index": 1,
         "delta": {"type": "input_json_delta", "partial_json": '{"a":1}'}},
        {"type": "content_block_start", "index": 2,
         "content_block": {"type": "tool_use", "id": "t2", "name": "g", "input": {}}},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
    ]  # fmt: skip
    machine = ClaudeToOpenAIStream(created=1)
    chunks = [c for e in events for c in machine.feed(e)]
    assert _deltas(chunks)[1:] == [
        ({"reasoning_content": "hm"}, None),
        ({"reasoning_content": "\n"}, None),
        ({"tool_calls": [{"index": 0, "id": "t1", "type": "function",
                          "function": {"name": "f", "arguments": ""}}]}, None),
        ({"tool_calls": [{"index": 0, "type": "function",
                          "function": {"arguments": '{"a":1}'}}]}, None),
        ({"tool_calls": [{"index": 1, "id": "t2", "type": "function",
                          "function": {"name": "g", "arguments": ""}}]}, None),
        ({}, "tool_calls"),
    ]  # fmt: skip
    assert machine.tool_calls == 2
