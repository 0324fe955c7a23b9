"""Relay an SSE stream from upstream to client, reading usage on the way, and settle it.

Chunks that end on an event boundary (the common case) are written through byte for byte;
otherwise complete events are re-framed and the partial tail waits for the next chunk, so a
client never sees half an event even when the upstream dies mid-line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from relay._fast.sse import SSEDecoder, SSELineTooLong
from relay._fast.tokens import StreamTokenCounter
from relay.http.client import UpstreamError, UpstreamResponse
from relay.http.server import Responder
from relay.pipeline.call import Call
from relay.pipeline.settle import fallback_usage, settle
from relay.providers.base import Provider, StreamObserver, Usage
from relay.routing import Channel
from relay.tokenizer import TOKENS_PER_TOOL_CALL
from relay.worker.context import WorkerContext

log = logging.getLogger("relay.stream")

DONE_FRAME = b"data: [DONE]\n\n"
MAX_SSE_LINE = 128 * 1024 * 1024


def _ends_event(chunk: bytes) -> bool:
    return chunk.endswith((b"\n\n", b"\r\n\r\n", b"\r\r"))


class _Relay:
    """The state of one stream being relayed."""

    def __init__(self, observer: StreamObserver, out: Responder) -> None:
        self.observer = observer
        self.out = out
        self.decoder = SSEDecoder(MAX_SSE_LINE)
        self.carry = False  # the decoder holds part of an event from an earlier chunk
        self.done = False  # [DONE] was relayed
        self.client_gone = False

    async def chunk(self, chunk: bytes) -> None:
        events = self.decoder.feed(chunk)
        keep = [self.observer.observe(e.data) for e in events]
        if not self.carry and all(keep) and _ends_event(chunk):
            self.done = self.done or any(e.data == b"[DONE]" for e in events)
            await self.out.write(chunk)
            return
        self.carry = not _ends_event(chunk)
        await self._frames([e.data for e, k in zip(events, keep, strict=True) if k])

    async def _frames(self, datas: list[bytes]) -> None:
        if not datas:
            return
        self.done = self.done or b"[DONE]" in datas
        await self.out.write(b"".join(b"data: " + d + b"\n\n" for d in datas))

    async def finish(self) -> None:
        """Flush a last event the upstream did not terminate, and end with [DONE]."""
        events = self.decoder.flush()
        await self._frames([e.data for e in events if self.observer.observe(e.data)])
        if not self.done:
            await self.out.write(DONE_FRAME)


def _usage(
    ctx: WorkerContext, call: Call, observer: StreamObserver, counter: StreamTokenCounter
) -> Usage:
    usage = observer.usage()
    if usage is not None and usage.total_tokens > 0:
        return usage
    observer.flush_text()
    completion = counter.total() + TOKENS_PER_TOOL_CALL * observer.tool_calls
    return fallback_usage(ctx, call, completion)


_SSE_HEADERS = [
    ("Content-Type", "text/event-stream"),
    ("Cache-Control", "no-cache"),
    ("X-Accel-Buffering", "no"),
]


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
    relay = _Relay(observer, out)
    cancelled = complete = False
    try:
        await out.start(200, [*_SSE_HEADERS, ("X-Oneapi-Request-Id", call.request_id)])
        async for chunk in upstream.chunks():
            if not call.first_token_at:
                call.first_token_at = time.time()
            await relay.chunk(chunk)
        complete = True
        await relay.finish()
    except asyncio.CancelledError:
        cancelled = True  # the client went away: stop reading upstream now, bill what came
    except (ConnectionResetError, ConnectionError) as exc:
        relay.client_gone = True
        log.debug("client of %s disconnected: %s", call.request_id, exc)
    except (UpstreamError, SSELineTooLong) as exc:
        # The upstream cut the stream, stalled past STREAMING_TIMEOUT or sent garbage:
        # end the client's stream cleanly and bill what was produced.
        log.info("upstream stream of %s ended early: %s", call.request_id, type(exc).__name__)
        try:
            await relay.finish()
        except (ConnectionError, SSELineTooLong):
            relay.client_gone = True
    finally:
        if complete:
            upstream.release()  # fully read: the connection goes back to the pool
        else:
            upstream.close()
    await settle(ctx, call, channel.id, _usage(ctx, call, observer, counter))
    if cancelled:
        raise asyncio.CancelledError
    if not relay.client_gone:
        with contextlib.suppress(ConnectionError):
            await out.end()
