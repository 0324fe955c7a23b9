"""Every Responses ⇄ Chat entry point, fed random JSON in roughly the right shape, either converts
or raises ResponsesConversionError (a ValueError) — never KeyError, TypeError or AttributeError.

One file for the six entry points (relay/convert/responses_*.py) so they share one strategy.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.convert.responses_chat_request import chat_to_responses_request
from relay.convert.responses_chat_stream import ResponsesToChatStream
from relay.convert.responses_common import ResponsesConversionError
from relay.convert.responses_request import responses_to_chat_request
from relay.convert.responses_response import (
    chat_to_responses_response,
    responses_to_chat_response,
)
from relay.convert.responses_stream import ChatToResponsesStream

# Keys and values the converters look at, so random objects reach deep branches.
_KEYS = st.sampled_from(
    [
        "model",
        "input",
        "instructions",
        "messages",
        "role",
        "content",
        "type",
        "text",
        "name",
        "arguments",
        "call_id",
        "id",
        "output",
        "tools",
        "tool_choice",
        "function",
        "parameters",
        "image_url",
        "url",
        "file_id",
        "file",
        "input_audio",
        "reasoning",
        "effort",
        "format",
        "max_tokens",
        "max_output_tokens",
        "tool_calls",
        "tool_call_id",
        "choices",
        "message",
        "delta",
        "index",
        "finish_reason",
        "usage",
        "prompt_tokens",
        "input_tokens",
        "summary",
        "response",
        "item",
        "item_id",
        "output_index",
        "status",
        "incomplete_details",
        "error",
        "custom",
        "input_tokens_details",
        "refusal",
        "reasoning_content",
        "response_format",
        "json_schema",
        "n",
        "detail",
        "strict",
        "message",
    ]
)
_STRINGS = st.sampled_from(
    [
        "",
        "m",
        "user",
        "assistant",
        "tool",
        "system",
        "developer",
        "message",
        "function",
        "function_call",
        "function_call_output",
        "custom_tool_call",
        "custom",
        "reasoning",
        "input_text",
        "output_text",
        "text",
        "input_image",
        "input_file",
        "input_audio",
        "image_url",
        "file",
        "refusal",
        "summary_text",
        "json_schema",
        "json_object",
        "auto",
        "length",
        "content_filter",
        "stop",
        "tool_calls",
        "incomplete",
        "completed",
        "response.created",
        "response.output_text.delta",
        "response.output_item.added",
        "response.output_item.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.completed",
        "response.incomplete",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.custom_tool_call_input.done",
        "response.refusal.delta",
        "error",
        "{}",
    ]
)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2, 3), st.floats(0, 1), _STRINGS)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=6)),
    max_leaves=30,
)
_OBJECTS = st.dictionaries(_KEYS, _JSON, max_size=8)
_FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _tolerates(convert: Any, value: Any) -> None:
    with contextlib.suppress(ResponsesConversionError):
        convert(value)


@_FUZZ
@given(st.one_of(_JSON, _OBJECTS))
def test_responses_to_chat_request(value: Any) -> None:
    _tolerates(responses_to_chat_request, value)


@_FUZZ
@given(st.one_of(_JSON, _OBJECTS))
def test_chat_to_responses_request(value: Any) -> None:
    _tolerates(chat_to_responses_request, value)


@_FUZZ
@given(st.one_of(_JSON, _OBJECTS))
def test_chat_to_responses_response(value: Any) -> None:
    _tolerates(chat_to_responses_response, value)


@_FUZZ
@given(st.one_of(_JSON, _OBJECTS))
def test_responses_to_chat_response(value: Any) -> None:
    _tolerates(responses_to_chat_response, value)


@_FUZZ
@given(st.lists(st.one_of(_JSON, _OBJECTS), max_size=6))
def test_chat_to_responses_stream(chunks: list[Any]) -> None:
    stream = ChatToResponsesStream("r", 0)
    for chunk in chunks:
        _tolerates(stream.feed, chunk)
    stream.finish()


@_FUZZ
@given(st.lists(st.one_of(_JSON, _OBJECTS), max_size=6))
def test_responses_to_chat_stream(events: list[Any]) -> None:
    stream = ResponsesToChatStream("c", 0)
    for event in events:
        _tolerates(stream.feed, event)
    stream.finish()
