"""relay.convert.responses_stream: Chat stream chunks → Responses stream events.

The plain golden case feeds new-api's Chat stream fixture (testdata/golden/stream/
openai_to_openai_responses). Ids, item order, text and usage match new-api's snapshot; the
sequence adds what OpenAI sends and the `openai` SDK needs (response.in_progress,
content_part / reasoning_summary_part events, sequence_number, `text`/`arguments`/`logprobs` on
the done events). Every event is validated with the SDK's own models, and whole streams are
played through the SDK client's Responses stream accumulator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from relay.convert.responses_common import ResponsesConversionError
from relay.convert.responses_stream import ChatToResponsesStream, sse_frame
from relay.providers.base import Usage

GOLDEN = Path(__file__).parent / "golden" / "responses"
EVENT = TypeAdapter(ResponseStreamEvent)


def _golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def _run(stream: ChatToResponsesStream, chunks: list[dict[str, Any]], **finish: Any) -> list[Any]:
    events = [e for c in chunks for e in stream.feed(c)]
    return events + stream.finish(**finish)


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "up-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def _sdk_final(events: list[dict[str, Any]]) -> Any:
    """Play the events as an SSE body through the openai SDK's Responses stream helper."""
    body = b"".join(sse_frame(e) for e in events)

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    client = openai.OpenAI(api_key="sk-test", base_url="http://relay.test/v1", http_client=http)
    with client.responses.stream(model="m", input="x") as stream:
        seen = [event.type for event in stream]
        final = stream.get_final_response()
    http.close()
    assert seen == _types(events)
    return final


@pytest.mark.parametrize("name", ["stream_chat_to_responses", "stream_chat_to_responses_tools"])
def test_golden_streams(name: str) -> None:
    case = _golden(name)
    events = _run(ChatToResponsesStream(**case["args"]), case["input"])
    assert events == case["output"]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    for event in events:
        EVENT.validate_python(event)


def test_golden_tool_stream_through_the_sdk() -> None:
    case = _golden("stream_chat_to_responses_tools")
    final = _sdk_final(case["output"])
    assert final.output_text == "Checking."
    calls = [(o.call_id, o.name, o.arguments) for o in final.output if o.type == "function_call"]
    assert calls == [("call_a", "get_weather", '{"city":"Paris"}'), ("call_b", "get_time", "{}")]
    reasoning = final.output[0]
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == "Need the weather."
    assert final.usage is not None
    assert (final.usage.input_tokens, final.usage.output_tokens) == (20, 12)
    assert final.usage.input_tokens_details.cached_tokens == 8
    assert final.usage.output_tokens_details.reasoning_tokens == 4


def test_sse_frame_bytes() -> None:
    event = {"type": "response.output_text.delta", "sequence_number": 4, "delta": "hé"}
    assert sse_frame(event) == (
        b"event: response.output_text.delta\n"
        b'data: {"type":"response.output_text.delta","sequence_number":4,"delta":"h\xc3\xa9"}\n\n'
    )


def test_usage_property_reads_the_upstream_usage() -> None:
    stream = ChatToResponsesStream("r", 0)
    assert stream.usage is None
    stream.feed(_chunk({"content": "x"}))
    stream.feed(
        {
            "choices": [],
            "usage": {
                "prompt_tokens": 9,
                "completion_tokens": 4,
                "prompt_tokens_details": {"cached_tokens": 2, "cache_write_tokens": 1},
            },
        }
    )
    assert stream.usage == Usage(
        prompt_tokens=9, completion_tokens=4, cached_tokens=2, cache_write_tokens=1
    )


def test_fallback_usage_when_the_upstream_sent_none() -> None:
    events = _run(
        ChatToResponsesStream("r", 0, "m"),
        [_chunk({"content": "hi"}, "stop")],
        usage=Usage(prompt_tokens=5, completion_tokens=1, cached_tokens=3),
    )
    assert events[-1]["response"]["usage"] == {
        "input_tokens": 5,
        "input_tokens_details": {"cache_write_tokens": 0, "cached_tokens": 3},
        "output_tokens": 1,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 6,
    }
    assert _sdk_final(events).usage.total_tokens == 6


def test_length_finish_gives_response_incomplete() -> None:
    events = _run(ChatToResponsesStream("r", 0, "m"), [_chunk({"content": "par"}, "length")])
    assert _types(events)[-1] == "response.incomplete"
    response = events[-1]["response"]
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["output"][0]["status"] == "incomplete"
    for event in events:
        EVENT.validate_python(event)


def test_empty_upstream_stream_still_completes() -> None:
    events = ChatToResponsesStream("r", 7, "m").finish()
    assert _types(events) == ["response.created", "response.in_progress", "response.completed"]
    assert events[-1]["response"]["output"] == [] and events[-1]["response"]["created_at"] == 7
    _sdk_final(events)


def test_error_chunk_fails_the_response_and_ends_the_stream() -> None:
    stream = ChatToResponsesStream("r", 0, "m")
    first = stream.feed(_chunk({"content": "a"}))
    failed = stream.feed({"error": {"message": "overloaded", "type": "server_error"}})
    assert _types(failed) == ["response.failed"]
    assert failed[0]["response"]["error"] == {"code": "server_error", "message": "overloaded"}
    assert failed[0]["response"]["status"] == "failed"
    assert stream.feed(_chunk({"content": "b"})) == [] and stream.finish() == []
    for event in first + failed:
        EVENT.validate_python(event)


def test_fail_before_any_chunk_opens_the_response_first() -> None:
    events = ChatToResponsesStream("r", 0, "m").fail("upstream timed out")
    assert _types(events) == ["response.created", "response.in_progress", "response.failed"]


def test_tool_calls_without_index_ids_and_late_names() -> None:
    stream = ChatToResponsesStream("r", 0, "m")
    events = _run(
        stream,
        [
            _chunk({"tool_calls": [{"id": "call_x", "function": {"name": "a", "arguments": "{"}}]}),
            _chunk({"tool_calls": [{"function": {"arguments": "}"}}]}),
            _chunk(
                {"tool_calls": [{"id": "call_y", "function": {"name": "b", "arguments": "[]"}}]}
            ),
            _chunk({"tool_calls": [{"index": 5, "function": {"arguments": "1"}}]}),
            _chunk({"tool_calls": [{"index": 5, "function": {"name": "late", "arguments": "2"}}]}),
            _chunk({}, "tool_calls"),
        ],
    )
    final = _sdk_final(events)
    calls = [(o.id, o.call_id, o.name, o.arguments) for o in final.output]
    assert calls == [
        ("call_x", "call_x", "a", "{}"),
        ("call_y", "call_y", "b", "[]"),
        ("r_call_5", "r_call_5", "late", "12"),
    ]


def test_text_after_tools_and_reasoning_resumed_open_new_items() -> None:
    events = _run(
        ChatToResponsesStream("r", 0),
        [
            _chunk({"reasoning": "think"}),
            _chunk({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f"}}]}),
            _chunk({"content": "after"}),
            _chunk({"reasoning_content": "more"}),
            _chunk({"content": "end"}, "stop"),
            {"choices": [{"index": 1, "delta": {"content": "second choice"}}]},
        ],
    )
    response = events[-1]["response"]
    assert response["model"] == "up-model"
    assert [(o["type"], o["id"]) for o in response["output"]] == [
        ("reasoning", "r_reasoning_0"),
        ("function_call", "call_1"),
        ("message", "r_msg_0"),
        ("reasoning", "r_reasoning_1"),
        ("message", "r_msg_1"),
    ]
    final = _sdk_final(events)
    assert final.output_text == "afterend"


@pytest.mark.parametrize(
    ("chunk", "message"),
    [
        ("data", "chunk must be an object"),
        ({"choices": {}}, "choices must be an array"),
        ({"choices": [1]}, r"choices\[0\] must be an object"),
        ({"choices": [{"delta": "x"}]}, "delta must be an object"),
        ({"choices": [{"delta": {"tool_calls": {}}}]}, "tool_calls must be an array"),
        ({"choices": [{"delta": {"tool_calls": [{"index": "0"}]}}]}, "index must be an integer"),
        ({"choices": [{"delta": {"tool_calls": [{"function": {"name": 1}}]}}]}, "name must be"),
    ],
)
def test_bad_chunks_raise_a_value_error(chunk: Any, message: str) -> None:
    with pytest.raises(ResponsesConversionError, match=message) as info:
        ChatToResponsesStream("r", 0).feed(chunk)
    assert isinstance(info.value, ValueError)


def test_refusal_streams_as_a_refusal_part() -> None:
    events = _run(
        ChatToResponsesStream("r", 0, "m"),
        [_chunk({"refusal": "I can"}), _chunk({"refusal": "not."}, "stop")],
    )
    assert _types(events)[2:-1] == [
        "response.output_item.added",
        "response.content_part.added",
        "response.refusal.delta",
        "response.refusal.delta",
        "response.refusal.done",
        "response.content_part.done",
        "response.output_item.done",
    ]
    assert events[-4]["refusal"] == "I cannot."
    for event in events:
        EVENT.validate_python(event)
    final = _sdk_final(events)
    part = final.output[0].content[0]
    assert final.output[0].id == "r_refusal_0"
    assert part.type == "refusal" and part.refusal == "I cannot."
