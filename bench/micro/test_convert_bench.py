"""Micro-benchmarks: what converting a stream costs per upstream chunk, next to passing it through.

Each case runs a whole chat stream (in network-sized chunks of 1-3 events) through
the worker's real per-chunk code, with a client that never blocks:
  passthrough-openai   OpenAI channel → OpenAI client: pipeline.stream's relay (SSE decode,
                       usage sniffing, bytes written as received)
  passthrough-claude   Anthropic channel → Claude client, the same way
  passthrough-gemini   Gemini channel → Gemini client, the same way
  openai-to-claude     OpenAI channel → Claude client: decode, read as pivot, Claude events out
  openai-to-responses  OpenAI channel → Responses client
  openai-to-gemini     OpenAI channel → Gemini client
  claude-to-openai     Anthropic channel → OpenAI client: decode, Claude events as pivot, OpenAI out
  gemini-to-openai     Gemini channel → OpenAI client
Each runs a stream of 25 and of 100 text events. At the end each converted case's time is
printed as a ratio to the pass-through of the same upstream stream, for both lengths and for
what one more text event costs (the issue's bar: under 1.10 per chunk).
Run: python -m pytest bench/micro/test_convert_bench.py -p no:cacheprovider --benchmark-enable
(on a busy machine add --benchmark-min-rounds=200 --benchmark-timer=time.process_time)
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import orjson
import pytest

from relay._fast.sse import SSEDecoder
from relay.pipeline.stream import MAX_SSE_LINE, _Relay
from relay.pipeline.surface_claude import ClaudeClientStream, ClaudeSurface
from relay.pipeline.surface_gemini import GeminiClientStream, GeminiSurface
from relay.pipeline.surface_openai import OpenAIClientStream, OpenAISurface
from relay.pipeline.surface_responses import ResponsesClientStream
from relay.pipeline.translate import StreamFrames
from relay.providers.anthropic.convert import ClaudePivotStream, ClaudeStreamObserver
from relay.providers.base import Endpoint, Usage
from relay.providers.gemini.convert import GeminiPivotStream, GeminiStreamObserver
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


def _openai_events(n: int) -> list[bytes]:
    events = [b"data: " + orjson.dumps(_chunk(i)) + b"\n\n" for i in range(n)]
    usage = {"prompt_tokens": 57, "completion_tokens": n, "total_tokens": 57 + n}
    last = {**_chunk(0), "choices": [], "usage": usage}
    return [*events, b"data: " + orjson.dumps(last) + b"\n\n", b"data: [DONE]\n\n"]


def _claude_events(n: int) -> list[bytes]:
    """The same answer as Anthropic streams it (made by relay's own OpenAI → Claude writer)."""
    writer = ClaudeClientStream(prompt_estimate=57)
    frames = b"".join(writer.feed(_chunk(i)) for i in range(n))
    frames += writer.finish(Usage(prompt_tokens=57, completion_tokens=n, anthropic=True))
    return [e + b"\n\n" for e in frames.split(b"\n\n") if e]


def _gemini_events(n: int) -> list[bytes]:
    """The same answer as Gemini streams it: one part per event, cumulative usage in each."""
    events = []
    for i in range(n):
        candidate: dict[str, Any] = {
            "content": {"parts": [{"text": " " + WORDS[i % len(WORDS)]}], "role": "model"},
            "index": 0,
        }
        if i == n - 1:
            candidate["finishReason"] = "STOP"
        usage = {
            "promptTokenCount": 57,
            "candidatesTokenCount": i + 1,
            "totalTokenCount": 58 + i,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 57}],
        }
        event = {
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": "gemini-2.0-flash",
            "responseId": "Vd1pZ4mOLbGq1MkP0KSDmAo",
        }
        events.append(b"data: " + orjson.dumps(event) + b"\r\n\r\n")
    return events


SHORT, LONG = 25, 100  # text events per stream; the difference is what one more chunk costs
OPENAI = {n: _network_chunks(_openai_events(n)) for n in (SHORT, LONG)}
CLAUDE = {n: _network_chunks(_claude_events(n)) for n in (SHORT, LONG)}
GEMINI = {n: _network_chunks(_gemini_events(n)) for n in (SHORT, LONG)}


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
    _run(relay.flush())
    _run(relay.close(observer.usage() or Usage()))
    return client.sent


def _translated(chunks: list[bytes], reader: Any, writer: Any) -> int:
    decoder = SSEDecoder(MAX_SSE_LINE)
    frames = StreamFrames(reader, writer)
    sent = 0
    for chunk in chunks:
        sent += len(frames(decoder.feed(chunk)))
    sent += len(frames(decoder.flush()))
    return sent + len(writer.finish(reader.usage() or Usage()))


def _responses() -> ResponsesClientStream:
    request = {"model": "gpt-4o-mini", "input": "Say something.", "stream": True}
    return ResponsesClientStream("chatcmpl-20241203xyz", 1718000000, "gpt-4o-mini", request)


CASES: dict[str, Callable[[int], int]] = {
    "passthrough-openai": lambda n: _passthrough(
        OPENAI[n], OpenAIStreamObserver(Endpoint.CHAT, False, lambda _: None), OpenAISurface()
    ),
    "passthrough-claude": lambda n: _passthrough(
        CLAUDE[n], ClaudeStreamObserver(lambda _: None), ClaudeSurface()
    ),
    "passthrough-gemini": lambda n: _passthrough(
        GEMINI[n], GeminiStreamObserver(lambda _: None), GeminiSurface()
    ),
    "openai-to-claude": lambda n: _translated(
        OPENAI[n], OpenAIPivotStream(lambda _: None), ClaudeClientStream(57)
    ),
    "openai-to-responses": lambda n: _translated(
        OPENAI[n], OpenAIPivotStream(lambda _: None), _responses()
    ),
    "openai-to-gemini": lambda n: _translated(
        OPENAI[n], OpenAIPivotStream(lambda _: None), GeminiClientStream(57)
    ),
    "claude-to-openai": lambda n: _translated(
        CLAUDE[n], ClaudePivotStream(1718000000, lambda _: None), OpenAIClientStream(True, 1)
    ),
    "gemini-to-openai": lambda n: _translated(
        GEMINI[n], GeminiPivotStream(1718000000, lambda _: None), OpenAIClientStream(True, 1)
    ),
}

# Each converted case against the pass-through of its upstream's stream.
BASELINE = {
    "openai-to-claude": "passthrough-openai",
    "openai-to-responses": "passthrough-openai",
    "openai-to-gemini": "passthrough-openai",
    "claude-to-openai": "passthrough-claude",
    "gemini-to-openai": "passthrough-gemini",
}
TIMES: dict[tuple[str, int], tuple[float, float]] = {}  # (case, events) → (min, median) s


@pytest.fixture(scope="module", autouse=True)
def _ratios(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the cases: converted / pass-through per case, per stream and per extra chunk."""
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is None or not TIMES:
        return

    def ratio(case: str, base: str, at: int) -> float:
        return TIMES[case, at][0] / TIMES[base, at][0]

    def per_chunk(case: str, base: str) -> float:
        def extra(name: str) -> float:
            return TIMES[name, LONG][0] - TIMES[name, SHORT][0]

        return extra(case) / extra(base)

    with capture.global_and_fixture_disabled():
        print("\nconverted / pass-through of the same upstream stream (min times): a stream of")
        print(f"{SHORT} and of {LONG} text events, and what one more text event costs")
        for case, base in BASELINE.items():
            if all((name, n) in TIMES for name in (case, base) for n in (SHORT, LONG)):
                print(
                    f"  {case:<20} {ratio(case, base, SHORT):5.2f} {ratio(case, base, LONG):5.2f}"
                    f"  per event {per_chunk(case, base):5.2f}   (vs {base})"
                )


@pytest.mark.parametrize("events", [SHORT, LONG])
@pytest.mark.parametrize("case", list(CASES))
def test_stream_per_chunk(benchmark: Any, case: str, events: int) -> None:
    sent = benchmark(CASES[case], events)
    assert sent > 1000
    if benchmark.stats is not None:
        stats = benchmark.stats.stats
        TIMES[case, events] = (stats.min, stats.median)
