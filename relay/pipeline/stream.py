"""Relay an SSE stream from upstream to client, reading usage on the way, and settle it.

Chunks that end on an event boundary (the common case) are written through byte for byte;
otherwise complete events are re-framed and the partial tail waits for the next chunk, so a
client never sees half an event even when the upstream dies mid-line.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from relay._fast.sse import SSEDecoder, SSEEvent, SSELineTooLong
from relay._fast.tokens import StreamTokenCounter
from relay.http.client import UpstreamError, UpstreamResponse
from relay.http.server import Responder
from relay.pipeline.call import Call
from relay.pipeline.channel_setting import stream_framer
from relay.pipeline.settle import fallback_usage, settle
from relay.pipeline.surface import Surface, surface_for
from relay.providers.base import Endpoint, Provider, StreamObserver, Usage
from relay.providers.openai.convert import openai_usage_of
from relay.routing import Channel
from relay.tokenizer import TOKENS_PER_TOOL_CALL
from relay.worker.context import WorkerContext

log = logging.getLogger("relay.stream")

MAX_SSE_LINE = 128 * 1024 * 1024
# The OpenAI endpoints whose passed-through streams end with a usage chunk when the client
# asked for one (new-api's OpenaiStreamHandler).
_USAGE_CHUNK_ENDPOINTS = frozenset({Endpoint.CHAT, Endpoint.COMPLETIONS})


def _ends_event(chunk: bytes) -> bool:
    return chunk.endswith((b"\n\n", b"\r\n\r\n", b"\r\r"))


class _Relay:
    """The state of one stream being relayed."""

    def __init__(
        self,
        observer: StreamObserver,
        out: Responder,
        surface: Surface,
        framer: Callable[[SSEEvent], bytes] | None = None,
        owes_usage: bool = False,
    ) -> None:
        self.observer = observer
        self.out = out
        self.surface = surface  # how events are re-framed, and what ends the stream
        self.framer = framer  # the channel re-serializes every event (force_format...)
        self.decoder = SSEDecoder(MAX_SSE_LINE)
        self.carry = False  # the decoder holds part of an event from an earlier chunk
        self.done = False  # [DONE] was relayed
        # The client asked for usage: [DONE] waits until it is known whether the upstream
        # sent usage (new-api then writes its own usage chunk first), the last chunk's data
        # gives that chunk its id, created and model.
        self.owes_usage = owes_usage
        self.last_data = b""

    async def chunk(self, chunk: bytes) -> None:
        events = self.decoder.feed(chunk)
        keep = [self.observer.observe(e.data) for e in events]
        if self.owes_usage:
            self._hold_done(events, keep)
        if self.framer is None and not self.carry and all(keep) and _ends_event(chunk):
            self.done = self.done or any(e.data == b"[DONE]" for e in events)
            await self.out.write(chunk)
            return
        self.carry = not _ends_event(chunk)
        await self._frames([e for e, k in zip(events, keep, strict=True) if k])

    async def _frames(self, events: list[SSEEvent]) -> None:
        await self.out.write(self._framed(events))  # writes nothing for no events

    def _framed(self, events: list[SSEEvent]) -> bytes:
        self.done = self.done or any(e.data == b"[DONE]" for e in events)
        frame = self.framer or self.surface.frame
        return b"".join(frame(e) for e in events)

    def _hold_done(self, events: list[SSEEvent], keep: list[bool]) -> None:
        for i, event in enumerate(events):
            if event.data == b"[DONE]":
                keep[i] = False
            elif keep[i]:
                self.last_data = event.data

    def flush(self) -> bytes:
        """The frames of a last event the upstream did not terminate."""
        events = self.decoder.flush()
        keep = [self.observer.observe(e.data) for e in events]
        if self.owes_usage:
            self._hold_done(events, keep)
        return self._framed([e for e, k in zip(events, keep, strict=True) if k])

    def close(self, usage: Usage) -> bytes:
        """The usage chunk new-api writes when the client asked for usage and the upstream
        sent none, then [DONE] (OpenAI) unless it was relayed."""
        frames = b""
        reported = self.observer.usage()
        if self.owes_usage and (reported is None or reported.total_tokens == 0):
            frames = final_usage_frame(self.last_data, usage)
        if not self.done and self.surface.done_frame:
            frames += self.surface.done_frame
        return frames


def final_usage_frame(last_data: bytes, usage: Usage) -> bytes:
    """new-api's GenerateFinalUsageResponse: id, created, model and system_fingerprint of the
    stream's last chunk, no choices, the billed usage."""
    try:
        last = orjson.loads(last_data) if last_data else {}
    except orjson.JSONDecodeError:
        last = {}
    if not isinstance(last, dict):
        last = {}
    chunk: dict[str, Any] = {
        "id": last.get("id", ""),
        "object": "chat.completion.chunk",
        "created": last.get("created", 0),
        "model": last.get("model", ""),
        "choices": [],
        "usage": openai_usage_of(usage),
    }
    if last.get("system_fingerprint"):
        chunk["system_fingerprint"] = last["system_fingerprint"]
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def stream_usage(
    ctx: WorkerContext,
    call: Call,
    reported: Usage | None,
    counter: StreamTokenCounter,
    tool_calls: int,
    flush_text: Callable[[], None],
) -> Usage:
    """The usage the upstream reported, else counted here: the streamed text plus new-api's
    tokens per tool call (`flush_text` hands the held-back text to the counter first). A Claude
    stream's usage is completed as new-api's HandleStreamFinalResponse does: no output count,
    or a stream cut before message_delta, takes the counted output (the larger one when cut),
    and a missing input count the estimate; its cache counts stay."""
    if reported is not None and reported.anthropic:
        if reported.partial or not reported.completion_tokens:
            flush_text()
            counted = fallback_usage(ctx, call, counter.total() + TOKENS_PER_TOOL_CALL * tool_calls)
            completion = reported.completion_tokens
            if not completion or (reported.partial and counted.completion_tokens > completion):
                completion = counted.completion_tokens
            prompt = reported.prompt_tokens or counted.prompt_tokens
            return dataclasses.replace(
                reported, prompt_tokens=prompt, completion_tokens=completion, partial=False
            )
        return reported
    if reported is not None and reported.total_tokens > 0:
        return reported
    flush_text()
    return fallback_usage(ctx, call, counter.total() + TOKENS_PER_TOOL_CALL * tool_calls)


def _usage(
    ctx: WorkerContext, call: Call, observer: StreamObserver, counter: StreamTokenCounter
) -> Usage:
    reported = observer.usage()
    return stream_usage(ctx, call, reported, counter, observer.tool_calls, observer.flush_text)


SSE_HEADERS = [
    ("Content-Type", "text/event-stream"),
    ("Cache-Control", "no-cache"),
    ("X-Accel-Buffering", "no"),
]


@dataclass(slots=True)
class StreamEnd:
    """How the upstream-to-client loop of a stream ended."""

    complete: bool = False  # the upstream body was read to its end
    cancelled: bool = False  # the client went away (the handler's task was cancelled)
    client_gone: bool = False  # a write to the client failed

    @property
    def writable(self) -> bool:
        return not (self.cancelled or self.client_gone)


async def pump(
    ctx: WorkerContext,
    call: Call,
    out: Responder,
    channel: Channel,
    upstream: UpstreamResponse,
    on_chunk: Callable[[bytes], Awaitable[None]],
) -> StreamEnd:
    """Start the client's SSE response and hand it every upstream chunk until either side
    stops; the upstream connection is then pooled again (read to its end) or closed."""
    end = StreamEnd()
    ctx.metrics.stream_opened()
    try:
        await out.start(200, [*SSE_HEADERS, ("X-Oneapi-Request-Id", call.request_id)])
        async for chunk in upstream.chunks():
            if not call.first_token_at:
                call.first_token_at = time.time()
            await on_chunk(chunk)
        end.complete = True
    except asyncio.CancelledError:
        end.cancelled = True  # the client went away: stop reading upstream now, bill what came
    except ConnectionError as exc:
        end.client_gone = True
        log.debug("client of %s disconnected: %s", call.request_id, exc)
    except (UpstreamError, SSELineTooLong) as exc:
        # The upstream cut the stream, stalled past STREAMING_TIMEOUT or sent garbage:
        # the caller ends the client's stream cleanly and bills what was produced.
        log.info("upstream stream of %s ended early: %s", call.request_id, type(exc).__name__)
    finally:
        if end.complete:
            upstream.release()
        else:
            upstream.close()
        ctx.metrics.stream_closed(call, channel.id, end.cancelled)
    return end


async def close_stream(
    ctx: WorkerContext,
    call: Call,
    out: Responder,
    channel: Channel,
    usage: Usage,
    end: StreamEnd,
    tail: bytes,
) -> None:
    """Settle the stream (whatever happened to the client), then end the client's response:
    its last frames (`tail`) and the end of the body go in one write, after the settlement."""
    settle(ctx, call, channel.id, usage)
    if end.cancelled:
        raise asyncio.CancelledError
    if not end.client_gone:
        with contextlib.suppress(ConnectionError):
            await out.end(tail)


async def relay_stream(
    ctx: WorkerContext,
    call: Call,
    out: Responder,
    channel: Channel,
    provider: Provider,
    upstream: UpstreamResponse,
    injected: bool,
) -> None:
    counter = StreamTokenCounter(ctx.tokenizer.counter_for(call.model))
    observer = provider.stream_observer(
        call.endpoint, injected and not call.client_wants_usage, counter.feed
    )
    framer = stream_framer(channel.setting, provider, call.endpoint, call.surface)
    owes_usage = call.client_wants_usage and call.endpoint in _USAGE_CHUNK_ENDPOINTS
    relay = _Relay(observer, out, surface_for(call.endpoint), framer, owes_usage)
    end = await pump(ctx, call, out, channel, upstream, relay.chunk)
    tail = b""
    if end.writable:
        try:
            tail = relay.flush()
        except SSELineTooLong:
            end.client_gone = True  # the client has half an event: nothing more can follow
    usage = _usage(ctx, call, observer, counter)
    if end.writable:
        tail += relay.close(usage)
    await close_stream(ctx, call, out, channel, usage, end, tail)
