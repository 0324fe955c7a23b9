"""Stream events held back until the upstream reports its usage, so their text can still be
counted locally (new-api's fallback) if it never does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

PENDING_LIMIT = 64 * 1024  # bytes of raw events held before they are counted on the spot

# Appends the generated texts of one parsed event to the list; returns the tool calls it starts.
TextsOf = Callable[[dict[str, Any], list[str]], int]


class PendingText:
    """Raw events not counted yet; past PENDING_LIMIT bytes they are parsed and handed to the
    sink at once, so a long stream never holds more than that."""

    __slots__ = ("_bytes", "_events", "_sink", "_texts_of", "tool_calls")

    def __init__(self, sink: Callable[[str], None], texts_of: TextsOf) -> None:
        self._sink = sink
        self._texts_of = texts_of
        self._events: list[bytes] = []
        self._bytes = 0
        self.tool_calls = 0

    def keep(self, data: bytes) -> None:
        self._events.append(data)
        self._bytes += len(data)
        if self._bytes > PENDING_LIMIT:
            self.flush()

    def drop(self) -> None:
        """The usage is known: what is held will never need counting."""
        self._events, self._bytes = [], 0

    def flush(self) -> None:
        """Parse the held events and hand their texts to the sink."""
        events, self._events, self._bytes = self._events, [], 0
        texts: list[str] = []
        for data in events:
            try:
                event = orjson.loads(data)
            except orjson.JSONDecodeError:
                continue
            if isinstance(event, dict):
                self.tool_calls += self._texts_of(event, texts)
        for text in texts:
            self._sink(text)
