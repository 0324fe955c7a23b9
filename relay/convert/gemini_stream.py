"""Gemini `:streamGenerateContent?alt=sse` events → OpenAI chat.completion.chunk dicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from relay.convert.gemini_common import (
    GeminiConversionError,
    count,
    obj,
    openai_finish_reason,
    opt_list,
    opt_obj,
)
from relay.convert.gemini_response import (
    candidate_parts,
    gemini_usage,
    has_usage_tokens,
    read_parts,
)
from relay.providers.base import Usage


def parse_event(data: bytes | dict[str, Any]) -> dict[str, Any]:
    """One SSE event's data as an object (already parsed data is passed through)."""
    if isinstance(data, dict):
        return data
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise GeminiConversionError(f"stream event is not JSON: {exc}") from None
    return obj(event, "stream event")


class GeminiToOpenAIStream:
    """Feed each event's data to `feed`, then call `finish`; emit every returned chunk in order.

    The first chunk carries `role: assistant`; Gemini's STOP becomes a separate finish chunk
    (`tool_calls` when any function call was seen); `finish` adds a usage chunk (choices [])
    when Gemini reported usage. Without usage, or with a completion count of 0 although text
    came (a cut stream), the caller counts what `text_sink` received (plus `image_count`) and
    builds the chunk with `usage_chunk`.
    """

    def __init__(
        self,
        *,
        response_id: str,
        created: int,
        model: str,
        fallback_prompt_tokens: int = 0,
        text_sink: Callable[[str], None] | None = None,
    ) -> None:
        self._id = response_id
        self._created = created
        self._model = model
        self._fallback = fallback_prompt_tokens
        self._sink = text_sink
        self._started = False
        self._finished = False
        self._saw_tool_call = False
        self._tool_indexes: dict[int, int] = {}  # choice index → next tool call index
        self._metadata: dict[str, Any] | None = None  # the last usageMetadata with tokens
        self.image_count = 0
        self.block_reason: str | None = None

    def _chunk(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "system_fingerprint": None,
            "choices": choices,
        }

    @staticmethod
    def _choice(index: int, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}

    def feed(self, data: bytes | dict[str, Any]) -> list[dict[str, Any]]:
        event = parse_event(data)
        candidates = opt_list(event.get("candidates"), "candidates")
        if not candidates:
            feedback = opt_obj(event.get("promptFeedback"), "promptFeedback")
            if isinstance(feedback.get("blockReason"), str):
                self.block_reason = feedback["blockReason"]
        self.read_usage(event.get("usageMetadata"))
        out: list[dict[str, Any]] = []
        if not self._started:
            self._started = True
            out.append(self._chunk([self._choice(0, {"role": "assistant", "content": ""}, None)]))
        choices = []
        stop = False
        for i, candidate in enumerate(candidates):
            where = f"candidates[{i}]"
            candidate = obj(candidate, where)
            choices.append(self._convert(candidate, where))
            stop = stop or candidate.get("finishReason") == "STOP"
        if choices:
            out.append(self._chunk(choices))
        if stop and not self._finished:
            out.append(self._stop_chunk())
        return out

    def read_usage(self, metadata: Any) -> bool:
        """Keep an event's usageMetadata if it has tokens (it is read when usage is asked
        for); returns whether it was kept."""
        if type(metadata) is dict:
            total = metadata.get("totalTokenCount")
            if (type(total) is int and total) or has_usage_tokens(metadata):
                self._metadata = metadata
                return True
        return False

    def _read(self) -> tuple[dict[str, Any], Usage] | None:
        if self._metadata is None:
            return None
        read = gemini_usage(self._metadata, self._fallback)
        return read.openai, read.usage

    def text_template(self) -> dict[str, Any]:
        """The chunk a plain text event becomes, its text emptied."""
        return self._chunk([self._choice(0, {"content": ""}, None)])

    def text_of(self, event: dict[str, Any]) -> str | None:
        """The text of an event that is one plain text part of candidate 0 after the first
        event, taken as `feed` would take it (its chunk is text_template's with the text);
        None, and nothing taken, for any other event."""
        candidates = event.get("candidates")
        if not self._started or type(candidates) is not list or len(candidates) != 1:
            return None
        candidate = candidates[0]
        if type(candidate) is not dict or candidate.get("finishReason") is not None:
            return None
        index = candidate.get("index")
        content = candidate.get("content")
        if (index is not None and index != 0) or type(index) is bool or type(content) is not dict:
            return None
        parts = content.get("parts")
        if type(parts) is not list or len(parts) != 1:
            return None
        part = parts[0]
        if type(part) is not dict or len(part) != 1:
            return None
        text = part.get("text")
        if type(text) is not str or not text or text == "\n":
            return None
        self.read_usage(event.get("usageMetadata"))
        if self._sink is not None:
            self._sink(text)
        return text

    def _convert(self, candidate: dict[str, Any], where: str) -> dict[str, Any]:
        index = count(candidate.get("index"))
        raw_parts = candidate_parts(candidate, where)
        parts = read_parts(raw_parts, f"{where}.content.parts", stream=True)
        for part in raw_parts:
            inline = part.get("inlineData")
            if isinstance(inline, dict) and inline.get("mimeType"):
                self.image_count += 1
            if self._sink is not None and isinstance(part.get("text"), str) and part["text"]:
                self._sink(part["text"])
        delta: dict[str, Any] = {}
        if parts.reasoning:
            delta["reasoning_content"] = parts.reasoning
        if parts.content or not parts.reasoning:
            delta["content"] = parts.content
        if parts.tool_calls:
            self._saw_tool_call = True
            start = self._tool_indexes.get(index, 0)
            for offset, call in enumerate(parts.tool_calls):
                call["index"] = start + offset
            self._tool_indexes[index] = start + len(parts.tool_calls)
            delta["tool_calls"] = parts.tool_calls
        finish = None
        reason = candidate.get("finishReason")
        # STOP gets its own finish chunk; other reasons (MAX_TOKENS, SAFETY…) end this one.
        if isinstance(reason, str) and reason and reason != "STOP":
            finish = openai_finish_reason(reason)
            self._finished = True
        return self._choice(index, delta, finish)

    def _stop_chunk(self) -> dict[str, Any]:
        self._finished = True
        reason = "tool_calls" if self._saw_tool_call else "stop"
        return self._chunk([self._choice(0, {}, reason)])

    def finish(self) -> list[dict[str, Any]]:
        """The finish chunk if none was sent yet, then the usage chunk if usage is known.

        Nothing when no event came at all: the caller reports that as an upstream failure.
        """
        if not self._started:
            return []
        out = [] if self._finished else [self._stop_chunk()]
        read = self._read()
        if read is not None:
            out.append(self.usage_chunk(read[0]))
        return out

    def usage_chunk(self, usage: dict[str, Any]) -> dict[str, Any]:
        """The trailing usage-only chunk (OpenAI's `stream_options.include_usage` shape)."""
        return {**self._chunk([]), "usage": usage}

    def usage(self) -> Usage | None:
        """The usage Gemini reported (the last usageMetadata with tokens), if any."""
        read = self._read()
        return None if read is None else read[1]
