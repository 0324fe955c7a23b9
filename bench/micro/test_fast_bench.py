"""Micro-benchmarks of the relay._fast twins (compiled vs pure Python).

Run: python -m pytest bench/micro -p no:cacheprovider --benchmark-enable -q
"""

from __future__ import annotations

import importlib
import json
from types import ModuleType
from typing import Any

import pytest

IMPLS = ["py", "c"]


def _twin(name: str, kind: str) -> ModuleType:
    return importlib.import_module(f"relay._fast._{name}_{kind}")


def _openai_stream() -> list[bytes]:
    """~25 chat.completion.chunk events of ~200 bytes, in chunks of 1-3 events."""
    words = ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "relays"]
    events = []
    for i in range(25):
        chunk = {
            "id": "chatcmpl-9xTq2bH7kLmN0pQrStUvWxYz1234",
            "object": "chat.completion.chunk",
            "created": 1718000000,
            "model": "gpt-4o-mini-2024-07-18",
            "system_fingerprint": "fp_0f03d4f0ee",
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": " " + words[i % len(words)]},
                    "logprobs": None,
                    "finish_reason": None,
                }
            ],
        }
        events.append(b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    chunks, i, step = [], 0, 0
    while i < len(events):
        n = (1, 2, 3)[step % 3]
        chunks.append(b"".join(events[i : i + n]))
        i += n
        step += 1
    return chunks


STREAM = _openai_stream()

TEXT = (
    "Relay is a high-throughput gateway for LLM APIs. It accepts OpenAI-compatible requests "
    "at https://relay.example.com/v1/chat/completions?stream=true&user=42, routes them to "
    "one of 3 upstream channels, and bills quota in real time: a request with 1,234 prompt "
    "tokens and 567 completion tokens at ratio 0.075 costs about 249 units. Errors such as "
    '429 (rate limited) or 503 trigger a retry on the next channel; e.g. {"error": '
    '"overloaded"}. Contact ops@example.com for access.\n'
)
TEXT = (TEXT * (2048 // len(TEXT) + 1))[:2048]

USAGE = (1234, 567, 200, 0, 0, 0, 0, False, 0.075, 4.0, 0.1, 1.25, 1.0, 1.0)


@pytest.mark.parametrize("kind", IMPLS)
def test_sse_openai_stream(benchmark: Any, kind: str) -> None:
    mod = _twin("sse", kind)

    def run() -> int:
        dec = mod.SSEDecoder()
        n = 0
        for chunk in STREAM:
            n += len(dec.feed(chunk))
        return n + len(dec.flush())

    assert benchmark(run) == 26


@pytest.mark.parametrize("kind", IMPLS)
def test_estimate_tokens_2kb(benchmark: Any, kind: str) -> None:
    mod = _twin("tokens", kind)
    assert benchmark(mod.estimate_tokens, TEXT, mod.FAMILY_OPENAI) > 300


@pytest.mark.parametrize("kind", IMPLS)
def test_settle_ratio(benchmark: Any, kind: str) -> None:
    mod = _twin("ratio", kind)
    assert benchmark(mod.settle_ratio, *USAGE) == 249
