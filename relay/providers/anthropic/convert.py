"""Pure functions over Anthropic's wire format: usage, generated text, and stream readers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import orjson

from relay.convert.claude_response import usage_from_claude
from relay.convert.claude_stream import ClaudeToOpenAIStream
from relay.convert.text_stream import LEARN_TRIES, SlotTextReader, TextSlot, find_slot
from relay.providers.base import Usage
from relay.providers.pending import PendingText


def _obj(value: Any) -> dict[str, Any]:
    """The value if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def usage_of(body: dict[str, Any]) -> Usage | None:
    """Usage of a Claude message; None when the body has none."""
    raw = body.get("usage")
    return usage_from_claude(raw) if isinstance(raw, dict) else None


def content_texts(blocks: Any, out: list[str]) -> int:
    """Texts of a message's content blocks into `out`; returns the tool_use blocks."""
    calls = 0
    for block in blocks if isinstance(blocks, list) else ():
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            out.append(block["text"])
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            out.append(block["thinking"])
        elif kind == "tool_use":
            calls += 1
            out.append(str(block.get("name") or ""))
            out.append(orjson.dumps(block.get("input") or {}).decode())
    return calls


def _event_texts(event: dict[str, Any], out: list[str]) -> int:
    """Texts of one stream event into `out`; returns the tool_use blocks it starts."""
    kind = event.get("type")
    if kind == "content_block_start":
        return content_texts([event.get("content_block")], out)
    if kind == "content_block_delta":
        delta = _obj(event.get("delta"))
        for key in ("text", "thinking", "partial_json"):
            if isinstance(delta.get(key), str):
                out.append(delta[key])
    return 0


def _final(usage: Usage | None, complete: bool) -> Usage | None:
    if usage is None or complete:
        return usage
    return dataclasses.replace(usage, partial=True)


class ClaudeStreamObserver:
    """Reads usage out of a Claude event stream passing through untouched.

    Only message_start and message_delta are parsed as they pass; the other events are kept
    raw (bounded) and parsed for text only if the stream ends without a message_delta.
    """

    def __init__(self, text_sink: Callable[[str], None]) -> None:
        self._usage: Usage | None = None
        self._complete = False  # message_delta seen: output tokens are known
        self._pending = PendingText(text_sink, _event_texts)

    def observe(self, data: bytes) -> bool:
        if b'"message_start"' in data or b'"message_delta"' in data:
            try:
                event = orjson.loads(data)
            except orjson.JSONDecodeError:
                return True
            if isinstance(event, dict) and event.get("type") == "message_start":
                message = event.get("message")
                if isinstance(message, dict):
                    self._usage = usage_from_claude(message.get("usage"))
                return True
            if isinstance(event, dict) and event.get("type") == "message_delta":
                self._usage = usage_from_claude(event.get("usage"), self._usage)
                self._complete = True
                if self._usage.completion_tokens:
                    self._pending.drop()  # else the text is counted (new-api's fallback)
                return True
        if not self._complete:
            self._pending.keep(data)
        return True

    def flush_text(self) -> None:
        self._pending.flush()

    def usage(self) -> Usage | None:
        """The upstream's usage, `partial` until the stream said how many tokens it produced."""
        return _final(self._usage, self._complete)

    @property
    def tool_calls(self) -> int:
        return self._pending.tool_calls


def _text_delta(event: Any) -> object:
    """The text of a content_block_delta text_delta event, if it is one."""
    if not isinstance(event, dict) or event.get("type") != "content_block_delta":
        return None
    delta = event.get("delta")
    if not isinstance(delta, dict) or delta.get("type") != "text_delta":
        return None
    return delta.get("text")


class ClaudePivotStream(SlotTextReader):
    """A Claude event stream read as OpenAI chunks (for an OpenAI-format client).

    The first text_delta event teaches `text_slot`, where the text sits in the next ones.
    """

    def __init__(self, created: int, text_sink: Callable[[str], None]) -> None:
        self._machine = ClaudeToOpenAIStream(created, text_sink)
        self._complete = False
        self._sink = text_sink
        self._learn_tries = LEARN_TRIES
        self.text_slot: TextSlot | None = None
        self.text_template = self._machine.text_template()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            return []
        if not isinstance(event, dict):
            return []
        kind = event.get("type")
        if kind == "message_delta":
            self._complete = True
        chunks = self._machine.feed(event)
        if kind == "message_start":
            self.text_template = self._machine.text_template()  # a new id and model
        elif self.text_slot is None and self._learn_tries:
            text = _text_delta(event)
            if isinstance(text, str) and text:
                self._learn_tries -= 1
                self.text_slot = find_slot(data, text, _text_delta)
        return chunks

    def usage(self) -> Usage | None:
        return _final(self._machine.usage, self._complete)

    @property
    def tool_calls(self) -> int:
        return self._machine.tool_calls
