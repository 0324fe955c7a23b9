"""Pure functions over OpenAI's wire format: usage, generated text, and a stream observer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from relay.providers.base import Endpoint, Usage

# Events are parsed for text only if no usage arrives; until then they wait, raw, up to this
# many bytes, and are then parsed and handed to the counter so memory stays bounded.
PENDING_LIMIT = 64 * 1024


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_from(data: dict[str, Any]) -> Usage | None:
    """Usage of an OpenAI response or chunk; None when absent or null."""
    raw = data.get("usage")
    if not isinstance(raw, dict):
        return None
    details = raw.get("prompt_tokens_details")
    details = details if isinstance(details, dict) else {}
    cached = _int(details.get("cached_tokens")) or _int(raw.get("prompt_cache_hit_tokens"))
    prompt = _int(raw.get("prompt_tokens")) or _int(raw.get("input_tokens"))
    completion = _int(raw.get("completion_tokens")) or _int(raw.get("output_tokens"))
    if not completion and _int(raw.get("total_tokens")) > prompt:
        completion = _int(raw.get("total_tokens")) - prompt
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        cache_write_tokens=_int(details.get("cache_write_tokens")),
        image_tokens=_int(details.get("image_tokens")),
    )


def _message_texts(message: dict[str, Any], out: list[str]) -> int:
    """Append a message's or delta's texts; returns how many tool calls it starts."""
    for key in ("content", "reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            out.append(value)
    calls = 0
    tool_calls = message.get("tool_calls")
    if isinstance(tool_calls, list):
        for call in tool_calls:
            if not isinstance(call, dict):
                continue
            if call.get("id"):
                calls += 1
            fn = call.get("function")
            if isinstance(fn, dict):
                for key in ("name", "arguments"):
                    if isinstance(fn.get(key), str):
                        out.append(fn[key])
    return calls


def choice_texts(endpoint: Endpoint, data: dict[str, Any], out: list[str]) -> int:
    """Texts of a response or chunk's choices into `out`; returns the tool calls started."""
    calls = 0
    choices = data.get("choices")
    if not isinstance(choices, list):
        return 0
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        if endpoint is Endpoint.COMPLETIONS:
            if isinstance(choice.get("text"), str):
                out.append(choice["text"])
            continue
        for key in ("message", "delta"):
            part = choice.get(key)
            if isinstance(part, dict):
                calls += _message_texts(part, out)
    return calls


def has_usage_object(data: bytes) -> bool:
    """Cheap test: does this chunk carry `"usage": {…}` (not null)? No JSON parse."""
    at = data.find(b'"usage"')
    while at != -1:
        i = at + 7
        n = len(data)
        while i < n and data[i] in b" \t\r\n":
            i += 1
        if i < n and data[i] == 0x3A:  # ':'
            i += 1
            while i < n and data[i] in b" \t\r\n":
                i += 1
            if i < n and data[i] == 0x7B:  # '{'
                return True
        at = data.find(b'"usage"', at + 7)
    return False


class OpenAIStreamObserver:
    """Reads usage out of an OpenAI stream as it passes; parses text only if usage never comes."""

    def __init__(
        self, endpoint: Endpoint, drop_usage_chunk: bool, text_sink: Callable[[str], None]
    ) -> None:
        self._endpoint = endpoint
        self._drop = drop_usage_chunk
        self._sink = text_sink
        self._usage: Usage | None = None
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._tool_calls = 0

    def observe(self, data: bytes) -> bool:
        if data == b"[DONE]":
            return True
        if has_usage_object(data):
            try:
                chunk = orjson.loads(data)
            except orjson.JSONDecodeError:
                return True
            if isinstance(chunk, dict):
                self._usage = usage_from(chunk) or self._usage
                choices = chunk.get("choices")
                if choices:
                    self._queue(data)
                elif self._drop:
                    return False
            return True
        self._queue(data)
        return True

    def _queue(self, data: bytes) -> None:
        if self._usage is not None:
            return  # usage is known: the text will never need counting
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes > PENDING_LIMIT:
            self.flush_text()

    def flush_text(self) -> None:
        """Parse the waiting events and hand their text to the sink."""
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        texts: list[str] = []
        for data in pending:
            try:
                chunk = orjson.loads(data)
            except orjson.JSONDecodeError:
                continue
            if isinstance(chunk, dict):
                self._tool_calls += choice_texts(self._endpoint, chunk, texts)
        for text in texts:
            self._sink(text)

    def usage(self) -> Usage | None:
        return self._usage

    @property
    def tool_calls(self) -> int:
        return self._tool_calls
