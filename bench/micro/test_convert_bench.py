"""Micro-benchmarks: what converting a stream costs per upstream chunk, next to passing it through.

Each case runs a whole ~25-event chat stream (in network-sized chunks of 1-3 events) through
the worker's real per-chunk code, with a client that never blocks:
  passthrough-openai   OpenAI channel → OpenAI client: pipeline.stream's relay (SSE decode,
                       usage sniffing, bytes written as received)
  passthrough-claude   Anthropic channel → Claude client, the same way
  openai-to-claude     OpenAI channel → Claude client: decode, read as pivot, Claude events out
  claude-to-openai     Anthropic channel → OpenAI client: decode, Claude events as pivot, OpenAI out
Run: python -m pytest bench/micro/test_convert_bench.py -p no:cacheprovider --benchmark-enable
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import orjson
import pytest

from relay._fast.sse import SSEDecoder
from relay.pipeline.stream import MAX_SSE_LINE, _Relay
from relay.pipeline.surface_claude import ClaudeClientStream, ClaudeSurface
from relay.pipeline.surface_openai import OpenAIClientStream, OpenAISurface
from relay.pipeline.translate import _frames
from relay.providers.anthropic.convert import ClaudePivotStream, ClaudeStreamObserver
from relay.providers.base import Endpoint, Usage
from relay.providers.openai.convert import OpenAIPivotStream, OpenAIStreamObserver

WORDS = ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "relays"]


def _chunk(i: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-9xTq2bH7kLmN0pQrStUvWxYz1234",
        "object": "chat.completion.chunk",
        "created": 1718000000,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_0f03d4f0ee",
        "choices": [
            {
                "index": 0,
                "delta": {"content": " " + WORDS[i % len(WORDS)]},
                "logprobs": None,
                "finish_reason": None,
            }
        ],
    }


def _network_chunks(events: list[bytes]) -> list[bytes]:
    """Events grouped 1, 2, 3, 1, 2, 3... per read, as they arrive from a socket."""
    chunks, i, step = [], 0, 0
    while i < len(events):
        n = (1, 2, 3)[step % 3]
        chunks.append(b"".join(events[i : i + n]))
        i += n
        step += 1
    return chunks


def _openai_events() -> list[bytes]:
    events = [b"data: " + orjson.dumps(_chunk(i)) + b"\n\n" for i in range(25)]
    usage = {"prompt_tokens": 57, "completion_tokens": 25, "total_tokens": 82}
    last = {**_chunk(0), "choices": [], "usage": usage}
    return [*events, b"data: " + orjson.dumps(last) + b"\n\n", b"data: [DONE]\n\n"]


def _claude_events() -> list[bytes]:
    """The same answer as Anthropic streams it (made by relay's own OpenAI → Claude writer)."""
    writer = ClaudeClientStream(prompt_estimate=57)
    frames = b"".join(writer.feed(_chunk(i)) for i in range(25))
    frames += writer.finish(Usage(prompt_tokens=57, completion_tokens=25, anthropic=True))
    return [e + b"\n\n" for e in frames.split(b"\n\n") if e]


OPENAI = _network_chunks(_openai_events())
CLAUDE = _network_chunks(_claude_events())


class _Client:
    """A client socket that takes everything at once (the write never waits)."""

    def __init__(self) -> None:
        self.sent = 0

    async def write(self, data: bytes) -> None:
        self.sent += len(data)


def _run(coro: Coroutine[Any, Any, None]) -> None:
    """Drive a coroutine that never suspends (its awaits complete at once) without a loop."""
    try:
        coro.send(None)
    except StopIteration:
        return
    raise AssertionError("the coroutine suspended")


def _passthrough(chunks: list[bytes], observer: Any, surface: Any) -> int:
    client = _Client()
    relay = _Relay(observer, client, surface)  # type: ignore[arg-type]
    for chunk in chunks:
        _run(relay.chunk(chunk))
    _run(relay.finish())
    return client.sent


def _translated(chunks: list[bytes], reader: Any, writer: Any) -> int:
    decoder = SSEDecoder(MAX_SSE_LINE)
    sent = 0
    for chunk in chunks:
        sent += len(_frames(decoder.feed(chunk), reader, writer))
    sent += len(_frames(decoder.flush(), reader, writer))
    return sent + len(writer.finish(reader.usage() or Usage()))


CASES = {
    "passthrough-openai": lambda: _passthrough(
        OPENAI, OpenAIStreamObserver(Endpoint.CHAT, False, lambda _: None), OpenAISurface()
    ),
    "passthrough-claude": lambda: _passthrough(
        CLAUDE, ClaudeStreamObserver(lambda _: None), ClaudeSurface()
    ),
    "openai-to-claude": lambda: _translated(
        OPENAI, OpenAIPivotStream(lambda _: None), ClaudeClientStream(57)
    ),
    "claude-to-openai": lambda: _translated(
        CLAUDE, ClaudePivotStream(1718000000, lambda _: None), OpenAIClientStream(True, 1)
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_stream_per_chunk(benchmark: Any, case: str) -> None:
    sent = benchmark(CASES[case])
    assert sent > 1000
