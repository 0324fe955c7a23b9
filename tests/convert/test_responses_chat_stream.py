"""relay.convert.responses_chat_stream: Responses stream events → Chat stream chunks.

The plain golden case feeds new-api's Responses stream fixture (testdata/golden/stream/
openai_responses_to_openai) and matches its snapshot's chunks (id, models, deltas, finish). The
tool case is a full OpenAI-style stream with a reasoning summary, a function call and usage.
Chunks are validated with the SDK's ChatCompletionChunk and played through its Chat stream helper.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import openai
import orjson
import pytest
from openai.types.chat import ChatCompletionChunk

from relay.convert.responses_chat_stream import ResponsesToChatStream
from relay.convert.responses_common import ResponsesConversionError, ResponsesStreamFailed
from relay.providers.base import Usage

GOLDEN = Path(__file__).parent / "golden" / "responses"


def _golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def _run(stream: ResponsesToChatStream, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for e in events for c in stream.feed(e)] + stream.finish()


def _deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in chunks if c["choices"]]


def _sdk_final(chunks: list[dict[str, Any]]) -> Any:
    """Play the chunks as an SSE body through the openai SDK's Chat stream helper."""
    body = b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    client = openai.OpenAI(api_key="sk-test", base_url="http://relay.test/v1", http_client=http)
    with client.chat.completions.stream(model="m", messages=[]) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    http.close()
    return final


@pytest.mark.parametrize("name", ["stream_responses_to_chat", "stream_responses_to_chat_tools"])
def test_golden_streams(name: str) -> None:
    case = _golden(name)
    chunks = _run(ResponsesToChatStream(**case["args"]), case["input"])
    assert chunks == case["output"]
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)


def test_golden_tool_stream_through_the_sdk() -> None:
    case = _golden("stream_responses_to_chat_tools")
    stream = ResponsesToChatStream(**case["args"])
    final = _sdk_final(_run(stream, case["input"]))
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert (call.id, call.function.name, call.function.arguments) == (
        "call_1",
        "get_weather",
        '{"city":"Paris"}',
    )
    assert final.usage is not None and final.usage.prompt_tokens_details is not None
    assert final.usage.prompt_tokens_details.cached_tokens == 10
    assert stream.usage == Usage(prompt_tokens=30, completion_tokens=9, cached_tokens=10)


def test_arguments_before_their_item_are_held_then_sent_once() -> None:
    chunks = _run(
        ResponsesToChatStream("c", 0, "m"),
        [
            {"type": "response.output_text.delta", "delta": "text before tool"},
            {
                "type": "response.function_call_arguments.delta",
                "output_index": 1,
                "delta": '{"cmd":',
            },
            {"type": "response.function_call_arguments.delta", "item_id": "fc_9", "delta": "x"},
            {
                "type": "response.output_item.added",
                "output_index": 1,
                "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "sh"},
            },
            {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": '"ls"}'},
            {
                "type": "response.function_call_arguments.done",
                "output_index": 1,
                "arguments": '{"cmd":"ls"}',
            },
            {
                "type": "response.output_item.done",
                "output_index": 1,
                "item": {
                    "type": "function_call",
                    "id": "fc_1",
                    "call_id": "call_1",
                    "name": "sh",
                    "arguments": '{"cmd":"ls"}',
                },
            },
        ],
    )
    assert _deltas(chunks) == [
        {"role": "assistant", "content": ""},
        {"content": "text before tool"},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "sh", "arguments": '{"cmd":'},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '"ls"}'}}]},
        # The fragment for an item that never appeared still reaches the client at the end.
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "fc_9",
                    "type": "function",
                    "function": {"name": "", "arguments": "x"},
                }
            ]
        },
        {},
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_arguments_only_in_the_done_event() -> None:
    chunks = _run(
        ResponsesToChatStream("c", 0, "m"),
        [
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {
                    "type": "function_call",
                    "id": "fc",
                    "call_id": "call",
                    "name": "f",
                    "arguments": "",
                },
            },
            {"type": "response.function_call_arguments.done", "output_index": 0, "arguments": "{}"},
            {"type": "response.custom_tool_call_input.done", "output_index": 3, "input": "raw"},
        ],
    )
    calls = [d["tool_calls"][0] for d in _deltas(chunks) if "tool_calls" in d]
    assert calls == [
        {"index": 0, "id": "call", "type": "function", "function": {"name": "f", "arguments": ""}},
        {"index": 0, "function": {"arguments": "{}"}},
        {
            "index": 1,
            "id": "call_output_3",
            "type": "function",
            "function": {"name": "", "arguments": "raw"},
        },
    ]


def test_terminal_output_fills_in_what_was_not_streamed() -> None:
    done = {
        "type": "response.done",
        "response": {
            "status": "completed",
            "model": "gpt-x",
            "output": [
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": "why"}]},
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "hi"}],
                },
                {
                    "type": "function_call",
                    "id": "fc",
                    "call_id": "call",
                    "name": "f",
                    "arguments": '{"a":1}',
                },
            ],
        },
    }
    chunks = _run(ResponsesToChatStream("c", 0, "m"), [done])
    assert _deltas(chunks) == [
        {"role": "assistant", "content": ""},
        {"reasoning_content": "why"},
        {"content": "hi"},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call",
                    "type": "function",
                    "function": {"name": "f", "arguments": '{"a":1}'},
                }
            ]
        },
        {},
    ]
    assert chunks[-1]["model"] == "gpt-x"


def test_streamed_tool_is_not_resent_by_the_terminal_output() -> None:
    item = {"type": "function_call", "id": "fc", "call_id": "call", "name": "f"}
    chunks = _run(
        ResponsesToChatStream("c", 0, "m"),
        [
            {"type": "response.output_item.added", "output_index": 0, "item": item},
            {
                "type": "response.function_call_arguments.delta",
                "output_index": 0,
                "delta": '{"q":"x"}',
            },
            {
                "type": "response.completed",
                "response": {"status": "completed", "output": [{**item, "arguments": '{"q":"x"}'}]},
            },
        ],
    )
    calls = [d["tool_calls"][0] for d in _deltas(chunks) if "tool_calls" in d]
    assert "".join(c["function"]["arguments"] for c in calls) == '{"q":"x"}'
    assert {c["index"] for c in calls} == {0}


def test_reasoning_summary_parts_are_separate_paragraphs() -> None:
    chunks = _run(
        ResponsesToChatStream("c", 0, "m"),
        [
            {"type": "response.reasoning_summary_text.delta", "delta": "one"},
            {"type": "response.reasoning_summary_text.done", "text": "one"},
            {"type": "response.reasoning_summary_text.delta", "delta": "two"},
            {"type": "response.reasoning_text.done", "text": "two"},
            {"type": "response.reasoning_text.delta", "delta": "\nthree"},
            {"type": "response.refusal.delta", "delta": "no"},
            {"type": "response.output_text.delta", "delta": ""},
            {"type": "response.output_text.annotation.added"},
        ],
    )
    assert _deltas(chunks)[1:] == [
        {"reasoning_content": "one"},
        {"reasoning_content": "\n\ntwo"},
        {"reasoning_content": "\n\nthree"},
        {"refusal": "no"},
        {},
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("event", "finish"),
    [
        (
            {
                "type": "response.incomplete",
                "response": {"incomplete_details": {"reason": "content_filter"}},
            },
            "content_filter",
        ),
        ({"type": "response.incomplete", "response": {}}, "length"),
        ({"type": "response.completed", "response": {"status": "incomplete"}}, "length"),
    ],
)
def test_incomplete_maps_to_finish_reason(event: dict[str, Any], finish: str) -> None:
    chunks = _run(ResponsesToChatStream("c", 0, "m"), [event])
    assert chunks[-1]["choices"][0]["finish_reason"] == finish


def test_usage_chunk_only_when_asked_and_known() -> None:
    completed = {
        "type": "response.completed",
        "response": {"status": "completed", "usage": {"input_tokens": 3, "output_tokens": 2}},
    }
    assert all(c["choices"] for c in _run(ResponsesToChatStream("c", 0, "m"), [completed]))
    with_usage = _run(ResponsesToChatStream("c", 0, "m", include_usage=True), [completed])
    assert with_usage[-1] == {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    no_usage = _run(ResponsesToChatStream("c", 0, "m", include_usage=True), [])
    assert [c["choices"][0]["finish_reason"] for c in no_usage] == [None, "stop"]


def test_events_after_the_end_are_ignored() -> None:
    stream = ResponsesToChatStream("c", 0, "m")
    stream.feed({"type": "response.completed", "response": {}})
    assert stream.feed({"type": "response.output_text.delta", "delta": "late"}) == []
    assert stream.finish() == []


@pytest.mark.parametrize(
    ("event", "error"),
    [
        (
            {
                "type": "response.failed",
                "response": {"error": {"code": "server_error", "message": "boom"}},
            },
            {"code": "server_error", "message": "boom"},
        ),
        (
            {"type": "error", "code": "rate_limit_exceeded", "message": "slow down"},
            {"code": "rate_limit_exceeded", "message": "slow down"},
        ),
        ({"type": "response.error"}, {}),
    ],
)
def test_failures_raise_with_the_upstream_error(
    event: dict[str, Any], error: dict[str, Any]
) -> None:
    with pytest.raises(ResponsesStreamFailed) as info:
        ResponsesToChatStream("c", 0, "m").feed(event)
    assert info.value.error == error
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "event must be an object"),
        ({"type": 1}, "event.type must be a string"),
        ({"type": "response.output_text.delta", "delta": 5}, "delta must be a string"),
        ({"type": "response.created", "response": "x"}, "response must be an object"),
        ({"type": "response.output_item.added", "item": []}, "item must be an object"),
        ({"type": "response.completed", "response": {"output": {}}}, "output must be an array"),
        (
            {"type": "response.function_call_arguments.delta", "item_id": 3, "delta": "x"},
            "item_id must be",
        ),
    ],
)
def test_bad_events_raise_a_value_error(event: Any, message: str) -> None:
    with pytest.raises(ResponsesConversionError, match=message):
        ResponsesToChatStream("c", 0, "m").feed(event)


def test_terminal_output_in_another_order_matches_calls_by_id() -> None:
    def item(n: int) -> dict[str, Any]:
        return {"type": "function_call", "id": f"fc_{n}", "call_id": f"call_{n}", "name": f"f{n}"}

    chunks = _run(
        ResponsesToChatStream("c", 0, "m"),
        [
            {"type": "response.output_item.added", "output_index": 1, "item": item(1)},
            {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "{1}"},
            {"type": "response.output_item.added", "output_index": 2, "item": item(2)},
            {"type": "response.function_call_arguments.delta", "output_index": 2, "delta": "{2}"},
            {
                "type": "response.completed",
                "response": {
                    "output": [{**item(1), "arguments": "{1}"}, {**item(2), "arguments": "{2}"}]
                },
            },
        ],
    )
    final = _sdk_final(chunks)
    calls = final.choices[0].message.tool_calls
    assert [(c.id, c.function.arguments) for c in calls] == [("call_1", "{1}"), ("call_2", "{2}")]
