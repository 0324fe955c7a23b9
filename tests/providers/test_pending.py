"""PendingText: raw stream events held back, counted only when needed, never unbounded."""

from __future__ import annotations

from typing import Any

import orjson

from relay.providers.pending import PENDING_LIMIT, PendingText


def texts_of(event: dict[str, Any], out: list[str]) -> int:
    out.append(event["t"])
    return 1 if event.get("tool") else 0


def event(text: str, tool: bool = False) -> bytes:
    return orjson.dumps({"t": text, "tool": tool})


def test_held_events_are_counted_in_order_on_flush() -> None:
    seen: list[str] = []
    pending = PendingText(seen.append, texts_of)
    pending.keep(event("a"))
    pending.keep(b"not json")
    pending.keep(b"[1]")
    pending.keep(event("b", tool=True))
    assert seen == []
    pending.flush()
    assert seen == ["a", "b"] and pending.tool_calls == 1
    pending.flush()
    assert seen == ["a", "b"]


def test_dropped_events_are_never_counted() -> None:
    seen: list[str] = []
    pending = PendingText(seen.append, texts_of)
    pending.keep(event("a"))
    pending.drop()
    pending.flush()
    assert seen == [] and pending.tool_calls == 0


def test_past_the_limit_what_is_held_is_counted_at_once() -> None:
    seen: list[str] = []
    pending = PendingText(seen.append, texts_of)
    big = "x" * (PENDING_LIMIT // 2 - 100)  # two fit under the limit, a third does not
    pending.keep(event(big))
    pending.keep(event(big))
    assert seen == []
    pending.keep(event(big))
    assert seen == [big, big, big]
