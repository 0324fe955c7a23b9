"""The plain text delta, the chunk most streams are made of, as byte templates.

Readers learn where the text sits in their upstream's text events (a `TextSlot`); writers
give the frame a text delta becomes (a `TextForm`). relay._fast.text then rewrites runs of
such events from one to the other without a JSON parse; anything else (first chunk, tool
calls, reasoning, usage, finish) takes the general path through the state machines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from relay._fast.sse import SSEEvent
from relay._fast.text import value_end

# Stands in for the text while a template is cut; escaped by orjson, so never in a real frame.
MARK = "\x00relay-text\x00"
_MARK_TOKEN = orjson.dumps(MARK)
_SEQ_MARK = "\x00relay-seq\x00"
_SEQ_TOKEN = orjson.dumps(_SEQ_MARK)
LEARN_TRIES = 8  # text events a reader tries to learn its slot from before it gives up


@dataclass(frozen=True, slots=True)
class TextSlot:
    """Upstream text events are prefix + a JSON string (the text) + suffix, or with a
    hole_tail, prefix + the text + suffix + an object that changes (usage) + hole_tail."""

    prefix: bytes
    suffix: bytes
    hole_tail: bytes | None = None

    def hole_of(self, data: bytes) -> bytes:
        """The object in an event spliced by this slot (its text has no quote inside)."""
        start = data.index(b'"', len(self.prefix) + 1) + 1 + len(self.suffix)
        return data[start : len(data) - len(self.hole_tail or b"")]

    def text_of(self, data: bytes) -> str | None:
        """The text of an event of this slot (without a hole), escaped or not; None for any
        other event."""
        lo, hi = len(self.prefix), len(self.suffix)
        if len(data) < lo + hi + 2 or not data.startswith(self.prefix):
            return None
        if not data.endswith(self.suffix):
            return None
        try:
            text = orjson.loads(data[lo : len(data) - hi])
        except orjson.JSONDecodeError:
            return None
        return text if type(text) is str and text else None


@dataclass(frozen=True, slots=True)
class TextForm:
    """A text delta's client frame: head [+ sequence number + mid] + the JSON string + tail."""

    head: bytes
    seq: int  # the next frame's number; -1 when frames carry none (mid unused)
    mid: bytes
    tail: bytes


class SlotTextReader:
    """The byte path of a pivot reader whose text slot has no hole: `text_of` takes a text
    event's text (handing it to the sink, as `feed` would) when it fits the learnt slot."""

    _sink: Callable[[str], None]
    text_slot: TextSlot | None

    @property
    def text_sink(self) -> Callable[[str], None]:
        return self._sink

    def text_of(self, data: bytes) -> str | None:
        text = self.text_slot.text_of(data) if self.text_slot is not None else None
        if text is not None:
            self._sink(text)
        return text

    def took_run(self, events: list[SSEEvent], start: int, end: int) -> None:
        """A slot without a hole leaves nothing to take from spliced events."""


def find_slot(data: bytes, text: str, text_at: Callable[[Any], object]) -> TextSlot | None:
    """Where `text` sits in the event `data`, checked by parsing the event with a probe string
    in its place: `text_at` must read the probe back from the same field."""
    token = orjson.dumps(text)
    at = data.rfind(token)
    if at < 0:
        return None
    prefix, suffix = data[:at], data[at + len(token) :]
    try:
        probe = orjson.loads(prefix + _MARK_TOKEN + suffix)
    except orjson.JSONDecodeError:
        return None
    return TextSlot(prefix, suffix) if text_at(probe) == MARK else None


_PROBE_HOLE = b'{"relayProbe":1}'


def find_holed_slot(
    data: bytes,
    text: str,
    text_at: Callable[[Any], object],
    key: bytes,
    hole_at: Callable[[Any], object],
) -> TextSlot | None:
    """Where `text` sits in `data`, followed by the simple object of the member `key` (e.g.
    b'"usageMetadata":'); checked by parsing the event with probes for both."""
    key_at = data.rfind(key)
    token = orjson.dumps(text)
    at = data.rfind(token, 0, key_at) if key_at >= 0 else -1
    if at < 0:
        return None
    hole = key_at + len(key)
    stop = value_end(data, hole, len(data))
    if stop < 0 or data[hole] != 0x7B:  # the hole must be an object
        return None
    slot = TextSlot(data[:at], data[at + len(token) : hole], data[stop:])
    try:
        probe = orjson.loads(slot.prefix + _MARK_TOKEN + slot.suffix + _PROBE_HOLE + data[stop:])
    except orjson.JSONDecodeError:
        return None
    if text_at(probe) != MARK or hole_at(probe) != {"relayProbe": 1}:
        return None
    return slot


def cut_form(frame: bytes, seq: int = -1) -> TextForm | None:
    """A form from the frame written for the text MARK (and sequence number _SEQ_MARK when
    seq >= 0); None when a marker is not found exactly once."""
    if frame.count(_MARK_TOKEN) != 1:
        return None
    before, tail = frame.split(_MARK_TOKEN)
    if seq < 0:
        return TextForm(before, -1, b"", tail)
    if before.count(_SEQ_TOKEN) != 1:
        return None
    head, mid = before.split(_SEQ_TOKEN)
    return TextForm(head, seq, mid, tail)


def seq_mark() -> Any:
    """The placeholder a writer puts where a frame's sequence number goes, to cut a form."""
    return _SEQ_MARK


def plain_text(chunk: dict[str, Any]) -> str | None:
    """The text of a pivot chunk that is only a text delta of choice 0, else None.

    Such a chunk has one choice with index 0, a delta of a non-empty content alone, no
    finish reason, and no usage or error; every client writer turns it into one text frame.
    """
    choices = chunk.get("choices")
    if type(choices) is not list or len(choices) != 1 or "error" in chunk:
        return None
    if chunk.get("usage") is not None:
        return None
    choice = choices[0]
    if type(choice) is not dict or not choice.keys() <= _CHOICE_KEYS:
        return None
    index = choice.get("index", 0)
    if type(index) is not int or index != 0:
        return None
    if choice.get("finish_reason") is not None or choice.get("logprobs") is not None:
        return None
    delta = choice.get("delta")
    if type(delta) is not dict or len(delta) != 1:
        return None
    content = delta.get("content")
    return content if type(content) is str and content else None


_CHOICE_KEYS = frozenset(("index", "delta", "logprobs", "finish_reason"))


def text_template(chunk: dict[str, Any]) -> dict[str, Any]:
    """A plain text chunk with its text emptied: the shape every text chunk of the run has."""
    choice = chunk["choices"][0]
    return {**chunk, "choices": [{**choice, "delta": {"content": ""}}]}


def with_text(template: dict[str, Any], text: str) -> dict[str, Any]:
    """The template's chunk carrying `text`."""
    choice = template["choices"][0]
    return {**template, "choices": [{**choice, "delta": {"content": text}}]}
