"""Pure functions over Gemini's wire format: usage, generated text, and stream readers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson

from relay._fast.sse import SSEEvent
from relay.convert.gemini_common import GeminiConversionError
from relay.convert.gemini_response import gemini_usage, has_usage_tokens
from relay.convert.gemini_stream import GeminiToOpenAIStream, parse_event
from relay.convert.text_stream import LEARN_TRIES, TextSlot, find_holed_slot
from relay.providers.base import Usage
from relay.providers.pending import PendingText


def usage_of(body: dict[str, Any]) -> Usage | None:
    """Usage of a generateContent response; None when usageMetadata reports no tokens."""
    metadata = body.get("usageMetadata")
    return gemini_usage(metadata).usage if has_usage_tokens(metadata) else None


def response_texts(body: dict[str, Any], out: list[str]) -> int:
    """Texts (and function calls as name + JSON args) of all candidates into `out`; returns
    the function calls."""
    calls = 0
    candidates = body.get("candidates")
    for candidate in candidates if isinstance(candidates, list) else ():
        content = candidate.get("content") if isinstance(candidate, dict) else None
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else ():
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                out.append(part["text"])
            call = part.get("functionCall")
            if isinstance(call, dict):
                calls += 1
                out.append(str(call.get("name") or ""))
                out.append(orjson.dumps(call.get("args") or {}).decode())
    return calls


def pivot_id(body: dict[str, Any]) -> str:
    """The pivot's id: Gemini's responseId when it sent one."""
    response_id = body.get("responseId")
    suffix = response_id if isinstance(response_id, str) and response_id else uuid.uuid4().hex
    return f"chatcmpl-{suffix}"


def model_version(body: dict[str, Any]) -> str:
    value = body.get("modelVersion")
    return value if isinstance(value, str) else ""


class GeminiStreamObserver:
    """Reads usage out of a Gemini SSE stream passing through untouched.

    Gemini repeats a cumulative usageMetadata in its events: only the latest one is kept,
    raw, and parsed when the stream is over. Other events are kept raw (bounded) for a local
    count until one reports candidate tokens.
    """

    def __init__(self, text_sink: Callable[[str], None]) -> None:
        self._usage_data = b""
        self._pending = PendingText(text_sink, response_texts)
        self._counted = False  # an event reported candidate tokens: no local count needed

    def observe(self, data: bytes) -> bool:
        if b'"usageMetadata"' in data:
            self._usage_data = data
            if b'"candidatesTokenCount"' in data:
                self._counted = True
                self._pending.drop()
        if not self._counted:
            self._pending.keep(data)
        return True

    def flush_text(self) -> None:
        self._pending.flush()

    def usage(self) -> Usage | None:
        if not self._usage_data:
            return None
        try:
            event = orjson.loads(self._usage_data)
        except orjson.JSONDecodeError:
            return None
        return usage_of(event) if isinstance(event, dict) else None

    @property
    def tool_calls(self) -> int:
        return self._pending.tool_calls


USAGE_KEY = b'"usageMetadata":'
MAX_RUNS = 64  # spliced runs whose usage may wait to be read


def _part_text(event: Any) -> object:
    """candidates[0].content.parts[0].text of an event, if it is shaped so."""
    try:
        return event["candidates"][0]["content"]["parts"][0]["text"]
    except (KeyError, IndexError, TypeError):
        return None


def _usage_metadata(event: Any) -> object:
    return event.get("usageMetadata") if isinstance(event, dict) else None


class GeminiPivotStream:
    """A Gemini SSE stream read as OpenAI chunks (for a client of another format).

    The chunks take their id and model from the first event (responseId, modelVersion);
    events that are not Gemini JSON are skipped.
    """

    def __init__(self, created: int, text_sink: Callable[[str], None]) -> None:
        self._created = created
        self._sink = text_sink
        self._machine: GeminiToOpenAIStream | None = None
        self._tool_calls = 0
        self._parsed: tuple[bytes, Any] = (b"", None)  # the event text_of parsed last
        self._learn_tries = LEARN_TRIES
        self._runs: list[tuple[list[SSEEvent], int, int]] = []  # spliced, usage not read yet
        self.text_slot: TextSlot | None = None  # with a hole: the usage changes every event
        self.text_template: dict[str, Any] | None = None

    @property
    def text_sink(self) -> Callable[[str], None]:
        return self._sink

    def text_of(self, data: bytes) -> str | None:
        """The text of an event of one plain text part, taken as `feed` would; else None."""
        if self._machine is None:
            return None
        if self._runs:
            self._read_runs()
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        if type(event) is not dict:
            return None
        text = self._machine.text_of(event)
        if text is None:
            self._parsed = (data, event)  # feed comes next with the same event
        elif self.text_slot is None and self._learn_tries:
            self._learn_tries -= 1
            self.text_slot = find_holed_slot(data, text, _part_text, USAGE_KEY, _usage_metadata)
        return text

    def took_run(self, events: list[SSEEvent], start: int, end: int) -> None:
        """Spliced events: their usage is read when the next event comes, or usage is asked."""
        self._runs.append((events, start, end))
        if len(self._runs) > MAX_RUNS:
            self._read_runs()

    def _read_runs(self) -> None:
        """Keep the last usage with tokens of the spliced events, as `feed` would have."""
        runs, self._runs = self._runs, []
        if self._machine is None or self.text_slot is None:
            return
        for events, start, end in reversed(runs):
            for k in range(end - 1, start - 1, -1):
                metadata = orjson.loads(self.text_slot.hole_of(events[k].data))
                if self._machine.read_usage(metadata):
                    return

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        if self._runs:
            self._read_runs()
        parsed, self._parsed = self._parsed, (b"", None)
        try:
            event = parsed[1] if parsed[0] is data else parse_event(data)
            if self._machine is None:
                self._machine = GeminiToOpenAIStream(
                    response_id=pivot_id(event),
                    created=self._created,
                    model=model_version(event),
                    text_sink=self._sink,
                )
                self.text_template = self._machine.text_template()
            chunks = self._machine.feed(event)
        except GeminiConversionError:
            return []
        for chunk in chunks:
            for choice in chunk["choices"]:
                self._tool_calls += len(choice["delta"].get("tool_calls") or ())
        return chunks

    def usage(self) -> Usage | None:
        if self._runs:
            self._read_runs()
        return self._machine.usage() if self._machine is not None else None

    @property
    def tool_calls(self) -> int:
        return self._tool_calls
