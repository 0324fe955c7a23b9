"""What every wire format of the mock shares: options from the key, ids, canned text."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from aiohttp import web

JSON = "application/json"
VOCAB_TEXT = (
    "Hello from the mock upstream, this is a deterministic reply streamed word by word "
    "so relay tests and benchmarks can check content usage and timing exactly."
)
VOCAB = VOCAB_TEXT.split()
TOOL_ARGS = ('{"', "city", '":"', "Paris", '"}')
THINKING_TEXT = ("Let me", " think", " about it.")
MAX_RECORDS = 10_000
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
_IDS = itertools.count(1)
_ID_PREFIX = os.urandom(6).hex()


@dataclass(slots=True)
class Opts:
    """Behaviour chosen by the API key: ``name;opt=value;...``.

    tag: prefix the reply with ``[tag]``; status: answer this error status; errbody=text: a
    non-JSON error body; delay / chunk_delay: milliseconds before the answer / between
    chunks; pt / ct: report these prompt / completion tokens; cached: cache-read tokens;
    cw / cw1h: Anthropic cache-write tokens (5-minute / 1-hour); nousage: report none;
    cut: drop the connection after N content chunks; words: reply length; fail_first: fail
    the first N calls with 500; stop: the Anthropic stop_reason; thinking: a thinking block.
    """

    tag: str | None = None
    status: int = 0
    errbody_text: bool = False
    delay: float = 0.0
    chunk_delay: float = 0.0
    pt: int | None = None
    ct: int | None = None
    cached: int = 0
    cw: int = 0
    cw1h: int = 0
    nousage: bool = False
    cut: int | None = None
    words: int = 12
    fail_first: int = 0
    stop: str | None = None
    thinking: bool = False


_INT_OPTS = {"status", "pt", "ct", "cached", "cw", "cw1h", "cut", "words", "fail_first"}
_BOOL_OPTS = {"nousage", "thinking"}


@dataclass(slots=True)
class Ctx:
    key: str
    opts: Opts
    body: dict[str, Any]
    rid: str


class State:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.records: deque[dict[str, Any]] = deque(maxlen=MAX_RECORDS)
        self.fail_counts: dict[str, int] = {}
        self.req_no = itertools.count(1)


Handler = Callable[[web.BaseRequest, Ctx], Awaitable[web.StreamResponse]]
ErrorReply = Callable[[str, int, bool], web.Response]


@lru_cache(maxsize=10_000)
def parse_key(key: str) -> Opts:
    o = Opts()
    for item in key.split(";")[1:]:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep:
            continue
        try:
            if name in _INT_OPTS:
                setattr(o, name, int(value))
            elif name in ("tag", "stop"):
                setattr(o, name, value)
            elif name == "errbody":
                o.errbody_text = value == "text"
            elif name in ("delay", "chunk_delay"):
                setattr(o, name, float(value) / 1000.0)
            elif name in _BOOL_OPTS:
                setattr(o, name, value not in ("", "0", "false"))
        except ValueError:
            continue
    return o


@lru_cache(maxsize=4096)
def reply_pieces(n: int, tag: str | None) -> tuple[str, ...]:
    words = [VOCAB[i % len(VOCAB)] for i in range(max(n, 0))]
    if tag is not None:
        words.insert(0, f"[{tag}]")
    return tuple(w if i == 0 else " " + w for i, w in enumerate(words))


def new_id(prefix: str) -> str:
    return f"{prefix}-{_ID_PREFIX}{next(_IDS):08d}"


def json_resp(rid: str, body: bytes, status: int = 200) -> web.Response:
    return web.Response(
        body=body, status=status, headers={"Content-Type": JSON, "x-request-id": rid}
    )


def text_error(rid: str, code: int) -> web.Response:
    return web.Response(
        body=f"mock failure {code}".encode(),
        status=code,
        headers={"Content-Type": "text/plain", "x-request-id": rid},
    )


def text_of(content: Any) -> str:
    """The text of an OpenAI or Claude message content (string or parts/blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def prompt_words(messages: list[Any]) -> int:
    return 7 + sum(len(text_of(m.get("content")).split()) for m in messages if isinstance(m, dict))


def tool_name(body: dict[str, Any], messages: list[Any]) -> str | None:
    """The tool to call: the first one offered, when the last user message asks for weather."""
    tools = body.get("tools")
    if not tools or not isinstance(tools, list):
        return None
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            if "weather" not in text_of(m.get("content")).lower():
                return None
            t = tools[0] if isinstance(tools[0], dict) else {}
            fn = t.get("function") or {}
            return str(fn.get("name") or t.get("name") or "tool")
    return None


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


async def paced(req: web.Request, opts: Opts, sent: int) -> bool:
    """Before content piece number `sent`: False once `cut` pieces went out (the connection is
    aborted mid-stream); else waits `chunk_delay` between pieces and returns True."""
    if opts.cut is not None and sent >= opts.cut:
        if req.transport is not None:
            req.transport.abort()
        return False
    if sent and opts.chunk_delay:
        await asyncio.sleep(opts.chunk_delay)
    return True
