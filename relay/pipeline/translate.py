"""Calls whose client and channel speak different formats: the answer goes through the pivot.

The provider reads its native response as OpenAI Chat; the client's surface writes that in
the client's format. Streams run the same way chunk by chunk: upstream events → pivot
chunks → client frames; the closing frames carry the usage the call is billed for.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from relay._fast.sse import SSEDecoder, SSEEvent
from relay._fast.tokens import StreamTokenCounter
from relay.http.client import UpstreamResponse
from relay.http.server import Reply, Responder
from relay.pipeline.call import Call
from relay.pipeline.stream import MAX_SSE_LINE, close_stream, pump, stream_usage, write_last
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


def _frames(events: list[SSEEvent], reader: PivotStream, writer: ClientStream) -> bytes:
    return b"".join(writer.feed(chunk) for e in events for chunk in reader.feed(e.data))


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
    reader = provider.stream_to_pivot(created, counter.feed)
    writer = surface_for(call.endpoint).stream_from_pivot(call, created)
    decoder = SSEDecoder(MAX_SSE_LINE)

    async def on_chunk(chunk: bytes) -> None:
        frames = _frames(decoder.feed(chunk), reader, writer)
        if frames:
            await out.write(frames)

    end = await pump(ctx, call, out, channel, upstream, on_chunk)
    tail = _frames(decoder.flush(), reader, writer) if end.writable else b""
    usage = stream_usage(ctx, call, reader.usage(), counter, reader.tool_calls)

    async def last() -> None:
        await out.write(tail + writer.finish(usage))

    await write_last(end, last)
    await close_stream(ctx, call, out, channel, usage, end)
