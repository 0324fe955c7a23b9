"""Pure functions over OpenAI's Responses wire format: usage, generated text, a stream observer.

Used when a Responses client meets a channel that speaks Responses itself: the bytes pass
through and these only read what billing needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from relay.convert.responses_common import usage_of
from relay.providers.base import Usage
from relay.providers.pending import PendingText

# The events that end a Responses stream; each carries the whole response with its usage.
_TERMINAL = (b'"response.completed"', b'"response.incomplete"', b'"response.failed"')
_TEXT_DELTAS = frozenset(
    {
        "response.output_text.delta",
        "response.refusal.delta",
        "response.reasoning_text.delta",
        "response.reasoning_summary_text.delta",
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
    }
)
_TOOL_ITEMS = frozenset({"function_call", "custom_tool_call"})


def is_response(body: dict[str, Any]) -> bool:
    """Whether a JSON body is a Responses `response` object (not a Chat completion)."""
    return body.get("object") == "response"


def responses_usage(body: dict[str, Any]) -> Usage | None:
    """Usage of a Responses `response` (input/output tokens, cached input)."""
    return usage_of(body.get("usage"))


def output_texts(body: dict[str, Any], out: list[str]) -> int:
    """Texts of a `response`'s output items into `out`; returns the tool calls among them."""
    calls = 0
    output = body.get("output")
    for item in output if isinstance(output, list) else ():
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind in _TOOL_ITEMS:
            calls += 1
            for key in ("name", "arguments", "input"):
                if isinstance(item.get(key), str):
                    out.append(item[key])
            continue
        for key in ("content", "summary"):
            parts = item.get(key)
            for part in parts if isinstance(parts, list) else ():
                if isinstance(part, dict):
                    text = part.get("text") or part.get("refusal")
                    if isinstance(text, str) and text:
                        out.append(text)
    return calls


def _event_texts(event: dict[str, Any], out: list[str]) -> int:
    """A Responses stream event's generated text (deltas, tool names); 1 if it starts a tool
    call."""
    kind = event.get("type")
    if kind in _TEXT_DELTAS and isinstance(event.get("delta"), str):
        out.append(event["delta"])
    elif kind == "response.output_item.added":
        item = event.get("item")
        if isinstance(item, dict) and item.get("type") in _TOOL_ITEMS:
            if isinstance(item.get("name"), str):
                out.append(item["name"])
            return 1
    return 0


class ResponsesStreamObserver:
    """Reads usage out of a Responses stream as it passes (from its terminal event); parses
    text deltas only if that event never comes. Nothing is ever dropped."""

    def __init__(self, text_sink: Callable[[str], None]) -> None:
        self._usage: Usage | None = None
        self._pending = PendingText(text_sink, _event_texts)

    def observe(self, data: bytes) -> bool:
        if any(name in data for name in _TERMINAL):
            try:
                event = orjson.loads(data)
            except orjson.JSONDecodeError:
                return True
            response = event.get("response") if isinstance(event, dict) else None
            if isinstance(response, dict):
                self._usage = responses_usage(response) or self._usage
            return True
        if self._usage is None:
            self._pending.keep(data)
        return True

    def flush_text(self) -> None:
        self._pending.flush()

    def usage(self) -> Usage | None:
        return self._usage

    @property
    def tool_calls(self) -> int:
        return self._pending.tool_calls
