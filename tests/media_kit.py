"""The media e2e tests' shared pieces: SDK client, scenario, prices, log rows, multipart forms."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import openai
import orjson
from relay_harness import MockUpstream, RelayServer, Scenario, Store
from sqlalchemy import text

from relay.billing.ratios import default_tables

ANTHROPIC, SILICONFLOW = 14, 40
QPU = 500_000
RERANKER = "jina-reranker-v2-base-multilingual"
# One MPEG-1 Layer III frame (128 kbit/s, 44.1 kHz): 417 bytes, 1152 samples.
MP3_FRAME = b"\xff\xfb\x90\xc4" + bytes(413)
SPEECH_TOKENS = 50  # the mock's speech: 77 frames ≈ 2.01 s → ceil 3 s → 3 / 60 × 1000
PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)


def client(relay: RelayServer, api_key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=relay.base_url, api_key=api_key, max_retries=0)


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def scenario(
    store: Store, upstream: MockUpstream, key: str, *models: str, **channel: Any
) -> Scenario:
    return await store.scenario(upstream, channels=[{"key": key, **channel}], models=models)


async def priced(store: Store) -> None:
    """new-api's default ratios plus a reranker and a TTS model that bills its audio out."""
    ratios = {**default_tables()["ModelRatio"], RERANKER: 0.5, "tts-mock": 2}
    await store.option("ModelRatio", orjson.dumps(ratios).decode())
    await store.publish_routing()


async def last_log(store: Store, request_id: str) -> dict[str, Any]:
    await store.wait_drained()
    async with store.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT model_name, quota, prompt_tokens, completion_tokens, is_stream, "
                    "other FROM logs WHERE request_id = :rid"
                ),
                {"rid": request_id},
            )
        ).one()
    return dict(row._mapping)


def form(boundary: str, *parts: tuple[str, bytes, str | None]) -> bytes:
    """A multipart/form-data body of (name, content, filename or None) parts."""
    out = b""
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()
