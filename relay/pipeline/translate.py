"""Calls whose client and channel speak different formats: the answer goes through the pivot.

The provider reads its native response as OpenAI Chat; the client's surface writes that in
the client's format. Streams run the same way chunk by chunk: upstream events → pivot
chunks → client frames; the closing frames carry the usage the call is billed for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, cast, runtime_checkable

import orjson

from relay._fast.sse import SSEDecoder, SSEEvent
from relay._fast.text import splice_texts
from relay._fast.tokens import StreamTokenCounter
from relay.convert.text_stream import TextForm, TextSlot
from relay.http.client import UpstreamResponse
from relay.http.server import Reply, Responder
from relay.pipeline.call import Call
from relay.pipeline.channel_setting import pivot_stream
from relay.pipeline.stream import MAX_SSE_LINE, close_stream, pump, stream_usage
from relay.pipeline.surface import ClientStream, surface_for
from relay.providers.base import PivotStream, Provider, Usage
from relay.routing import Channel
from relay.worker.context import WorkerContext


def translated_reply(call: Call, provider: Provider, data: dict[str, Any], usage: Usage) -> Reply:
    """A native non-stream response in the client's format, with the billed usage."""
    pivot = provider.response_to_pivot(data, int(time.time()))
    body = surface_for(call.endpoint).response_from_pivot(pivot, usage)
    headers = [("Content-Type", "application/json"), ("X-Oneapi-Request-Id", call.request_id)]
    return Reply(200, orjson.dumps(body), headers)


@runtime_checkable
class TextReader(Protocol):
    """A pivot reader that can take plain text events apart from the others."""

    # Both change only with an event `feed` turns into chunks, or one `text_of` takes.
    text_slot: TextSlot | None  # where the text sits in its text events, once learnt
    text_template: dict[str, Any] | None  # the pivot chunk of those events, text emptied

    @property
    def text_sink(self) -> Callable[[str], None]: ...

    def text_of(self, data: bytes) -> str | None:
        """The text of a plain text event, taken as `feed` would; None for any other event."""
        ...

    def took_run(self, events: list[SSEEvent], start: int, end: int) -> None:
        """events[start:end] were spliced by a slot with a hole: take their objects."""


@runtime_checkable
class TextWriter(Protocol):
    """A client writer that can say how a plain text delta is written in its current state."""

    wants_texts: bool  # took_texts needs the texts themselves

    def text_form(self, template: dict[str, Any] | None) -> TextForm | None: ...

    def took_texts(self, texts: list[str] | None) -> None:
        """Deltas were written by the form: update the state as `feed` would have."""


class StreamFrames:
    """Client frames of upstream events.

    While the writer has a form for text deltas, runs of events that match the reader's slot
    are spliced from bytes to bytes (relay._fast.text) and other text events (escapes, no
    slot) are read by the reader and written by the form; every other event goes through the
    reader and the writer, and may change the form.
    """

    __slots__ = ("_form", "_reader", "_seq", "_slot", "_stale", "_text", "_writer")

    def __init__(self, reader: PivotStream, writer: ClientStream) -> None:
        self._reader = reader
        self._writer = writer
        self._text = _text_pair(reader, writer)
        self._stale = True  # the form must be asked for again
        self._slot: tuple[bytes, bytes, bytes | None] | None = None
        # head, mid, tail; the text sink, text_of; took_texts and whether it wants texts; took_run
        self._form: tuple[bytes, bytes, bytes, Any, Any, Any, bool, Any] | None = None
        self._seq = -1  # the next frame's number, when the client's frames are numbered

    def __call__(self, events: list[SSEEvent]) -> bytes:
        out: list[bytes] = []
        i, n = 0, len(events)
        while i < n:
            if self._stale and self._text is not None:
                self._refresh(*self._text)
            form = self._form
            if form is not None:
                head, mid, tail, sink, text_of, took, wants, took_run = form
                if self._slot is not None:
                    texts: list[str] | None = [] if wants else None
                    seq = self._seq
                    frames, end = splice_texts(
                        events, i, *self._slot, head, seq, mid, tail, sink, texts
                    )
                    if end > i:
                        if self._slot[2] is not None:
                            took_run(events, i, end)
                        took(texts)
                        if seq >= 0:
                            self._seq = seq + end - i
                        out.append(frames)
                        i = end
                        if i == n:
                            break
                text = text_of(events[i].data)
                if text is not None:
                    seq = self._seq
                    number = b"%d" % seq + mid if seq >= 0 else b""
                    out.append(head + number + orjson.dumps(text) + tail)
                    took([text] if wants else None)
                    if seq >= 0:
                        self._seq = seq + 1
                    self._stale = self._slot is None  # the reader may have learnt its slot
                    i += 1
                    continue
            chunks = self._reader.feed(events[i].data)
            if chunks:  # an event that yields nothing changes neither side's form (pings, [DONE])
                out.extend(self._writer.feed(chunk) for chunk in chunks)
                self._stale = True
                self._form = None
            i += 1
        return out[0] if len(out) == 1 else b"".join(out)

    def _refresh(self, reader: TextReader, writer: TextWriter) -> None:
        self._stale = False
        form = writer.text_form(reader.text_template)
        if form is None:
            return
        slot = reader.text_slot
        self._slot = None if slot is None else (slot.prefix, slot.suffix, slot.hole_tail)
        took, wants = writer.took_texts, writer.wants_texts
        text = (reader.text_sink, reader.text_of, took, wants, reader.took_run)
        self._form = (form.head, form.mid, form.tail, *text)
        self._seq = form.seq


HELD_LIMIT = 64 * 1024  # upstream bytes whose texts may wait before they are counted


class HeldText:
    """Streamed texts kept back from the token counter, as the pass-through observers keep
    events back: they are counted only if the upstream reports no usage, and on the spot once
    HELD_LIMIT bytes came, so a long stream never holds more than that."""

    __slots__ = ("_bytes", "_feed", "texts")

    def __init__(self, feed: Callable[[str], None]) -> None:
        self._feed = feed
        self._bytes = 0
        self.texts: list[str] = []  # `texts.append` is the readers' sink

    def read(self, size: int) -> None:
        """`size` more upstream bytes were read (their texts are at most that long)."""
        self._bytes += size
        if self._bytes > HELD_LIMIT:
            self.flush()

    def flush(self) -> None:
        for text in self.texts:
            self._feed(text)
        self.texts.clear()
        self._bytes = 0


_TEXT_PAIRS: dict[tuple[type, type], bool] = {}  # (reader, writer) class → both take texts


def _text_pair(reader: PivotStream, writer: ClientStream) -> tuple[TextReader, TextWriter] | None:
    """The reader and writer as text splicers, when both are (checked once per class pair)."""
    key = (type(reader), type(writer))
    both = _TEXT_PAIRS.get(key)
    if both is None:
        both = _TEXT_PAIRS[key] = isinstance(reader, TextReader) and isinstance(writer, TextWriter)
    return (cast(TextReader, reader), cast(TextWriter, writer)) if both else None


async def relay_translated_stream(
    ctx: WorkerContext,
    call: Call,
    out: Responder,
    channel: Channel,
    provider: Provider,
    upstream: UpstreamResponse,
) -> None:
    created = int(time.time())
    counter = StreamTokenCounter(ctx.tokenizer.counter_for(call.model))
    held = HeldText(counter.feed)
    reader = pivot_stream(
        provider.stream_to_pivot(created, held.texts.append),
        channel.setting,
        provider,
        call.endpoint,
    )
    writer = surface_for(call.endpoint).stream_from_pivot(call, created)
    decoder = SSEDecoder(MAX_SSE_LINE)
    frames_of = StreamFrames(reader, writer)

    async def on_chunk(chunk: bytes) -> None:
        frames = frames_of(decoder.feed(chunk))
        held.read(len(chunk))
        if frames:
            await out.write(frames)

    end = await pump(ctx, call, out, channel, upstream, on_chunk)
    tail = frames_of(decoder.flush()) if end.writable else b""
    usage = stream_usage(ctx, call, reader.usage(), counter, reader.tool_calls, held.flush)
    if end.writable:
        tail += writer.finish(usage)
    await close_stream(ctx, call, out, channel, usage, end, tail)
