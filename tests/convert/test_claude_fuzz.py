"""The Claude conversions never crash on odd JSON: bad input is a ConversionError or tolerated."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from relay.convert.claude_request import (
    ConversionError,
    claude_to_openai_request,
    openai_to_claude_request,
)
from relay.convert.claude_response import claude_to_openai_response, openai_to_claude_response
from relay.convert.claude_stream import ClaudeToOpenAIStream, OpenAIToClaudeStream
from relay.providers.base import Usage

KEYS = st.sampled_from(
    ["model", "messages", "role", "content", "type", "text", "tool_calls", "function", "name",
     "arguments", "tools", "input_schema", "parameters", "system", "stop", "stop_sequences",
     "tool_choice", "choices", "delta", "message", "finish_reason", "index", "id", "input",
     "tool_use_id", "source", "image_url", "url", "usage", "content_block", "stop_reason",
     "max_tokens", "reasoning", "reasoning_effort", "web_search_options", "user_location",
     "thinking", "partial_json", "cache_creation", "parallel_tool_calls"]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from(["", "user", "assistant", "tool", "system", "text", "image", "tool_use",
                     "tool_result", "image_url", "auto", "required", "stop", "data:x;base64,AA",
                     "message_start", "content_block_start", "content_block_delta",
                     "message_delta", "text_delta", "input_json_delta", "thinking_delta"]),
)  # fmt: skip
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=30,
)
OBJECTS = st.dictionaries(KEYS, JSON, max_size=8)


def _tolerates(convert: Any, value: Any) -> None:
    with contextlib.suppress(ConversionError):
        convert(value)


@settings(max_examples=300, deadline=None)
@given(OBJECTS)
def test_requests(payload: dict[str, Any]) -> None:
    _tolerates(claude_to_openai_request, payload)
    _tolerates(openai_to_claude_request, payload)


@settings(max_examples=300, deadline=None)
@given(OBJECTS)
def test_responses(body: dict[str, Any]) -> None:
    claude_to_openai_response(body, 0)
    openai_to_claude_response(body, Usage())


@settings(max_examples=200, deadline=None)
@given(st.lists(OBJECTS, max_size=6))
def test_streams(events: list[dict[str, Any]]) -> None:
    to_openai = ClaudeToOpenAIStream(0)
    to_claude = OpenAIToClaudeStream(0)
    for event in events:
        to_openai.feed(event)
        to_claude.feed(event)
    to_claude.finish(Usage())
