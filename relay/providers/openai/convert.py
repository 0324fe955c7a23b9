"""Pure functions over OpenAI's wire format: usage, generated text, and a stream observer."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import orjson

from relay.convert.text_stream import (
    LEARN_TRIES,
    SlotTextReader,
    TextSlot,
    find_slot,
    plain_text,
    text_template,
)
from relay.providers.base import Endpoint, Usage
from relay.providers.pending import PendingText


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


def openai_usage_of(usage: Usage) -> dict[str, Any]:
    """Usage as an OpenAI usage object; Anthropic-semantics input gains its cache tokens."""
    prompt = usage.prompt_tokens
    if usage.anthropic:
        prompt += usage.cached_tokens + usage.cache_write_tokens
    details: dict[str, Any] = {"cached_tokens": usage.cached_tokens}
    if usage.cache_write_tokens:
        details["cached_creation_tokens"] = usage.cache_write_tokens
        details["cache_write_tokens"] = usage.cache_write_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": prompt + usage.completion_tokens,
        "prompt_tokens_details": details,
    }


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
        self._drop = drop_usage_chunk
        self._usage: Usage | None = None
        self._pending = PendingText(text_sink, functools.partial(choice_texts, endpoint))

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
        if self._usage is None:  # once usage is known the text never needs counting
            self._pending.keep(data)

    def flush_text(self) -> None:
        self._pending.flush()

    def usage(self) -> Usage | None:
        return self._usage

    @property
    def tool_calls(self) -> int:
        return self._pending.tool_calls


def _delta_content(chunk: Any) -> object:
    """choices[0].delta.content of a chunk, if it is shaped so."""
    try:
        return chunk["choices"][0]["delta"]["content"]
    except (KeyError, IndexError, TypeError):
        return None


class OpenAIPivotStream(SlotTextReader):
    """An OpenAI stream read as pivot chunks (it is the pivot): parsed, usage-only chunks kept
    back (the client's surface writes usage in its own terms).

    The first plain text chunk teaches `text_slot`, where the text sits in the next ones.
    """

    def __init__(self, text_sink: Callable[[str], None]) -> None:
        self._sink = text_sink
        self._usage: Usage | None = None
        self._tool_calls = 0
        self._learn_tries = LEARN_TRIES
        self.text_slot: TextSlot | None = None
        self.text_template: dict[str, Any] | None = None

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        if data == b"[DONE]":
            return []
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return []
        if not isinstance(chunk, dict):
            return []
        self._usage = usage_from(chunk) or self._usage
        texts: list[str] = []
        self._tool_calls += choice_texts(Endpoint.CHAT, chunk, texts)
        for text in texts:
            self._sink(text)
        if self.text_slot is None and self._learn_tries:
            self._learn(data, chunk)
        return [chunk] if chunk.get("choices") else []

    def _learn(self, data: bytes, chunk: dict[str, Any]) -> None:
        text = plain_text(chunk)
        if text is None:
            return
        self._learn_tries -= 1
        self.text_slot = find_slot(data, text, _delta_content)
        if self.text_slot is not None:
            self.text_template = text_template(chunk)

    def usage(self) -> Usage | None:
        return self._usage

    @property
    def tool_calls(self) -> int:
        return self._tool_calls
