"""Mock OpenAI-compatible upstream for relay's integration tests and benchmarks.

Usage: python bench/mock_upstream.py --host 127.0.0.1 --port 0 [--latency-ms N]
Prints ``READY port=<port>`` once listening; exits 0 on SIGTERM/SIGINT.

Behaviour is selected by the API key: ``name;opt=value;...`` (see ``Opts``).
Self-contained on purpose: it must not import the ``relay`` package.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import os
import signal
import struct
import sys
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
import uvloop
from aiohttp import web

JSON = "application/json"
FP = "fp_mock"
MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo-instruct", "text-embedding-3-small")
VOCAB_TEXT = (
    "Hello from the mock upstream, this is a deterministic reply streamed word by word "
    "so relay tests and benchmarks can check content usage and timing exactly."
)
VOCAB = VOCAB_TEXT.split()
TOOL_ARGS = ('{"', "city", '":"', "Paris", '"}')
MAX_RECORDS = 10_000
KEPT_HEADERS = frozenset({"authorization", "content-type", "user-agent", "openai-organization"})
MODELS_BODY = orjson.dumps(
    {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": 1700000000, "owned_by": "mock"} for m in MODELS
        ],
    }
)
_IDS = itertools.count(1)
_ID_PREFIX = os.urandom(6).hex()
CTD = {
    "reasoning_tokens": 0,
    "audio_tokens": 0,
    "accepted_prediction_tokens": 0,
    "rejected_prediction_tokens": 0,
}


def err_body(message: str, etype: str, code: str | None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": etype, "param": None, "code": code}})


NO_KEY_BODY = err_body("You didn't provide an API key.", "invalid_request_error", None)
BAD_JSON_BODY = err_body(
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly.)",
    "invalid_request_error",
    None,
)
DONE = b"data: [DONE]\n\n"
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}

Handler = Callable[[web.BaseRequest, "Ctx"], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class Opts:
    tag: str | None = None
    status: int = 0
    errbody_text: bool = False
    delay: float = 0.0
    chunk_delay: float = 0.0
    pt: int | None = None
    ct: int | None = None
    cached: int = 0
    nousage: bool = False
    cut: int | None = None
    words: int = 12
    fail_first: int = 0


_INT_OPTS = {"status", "pt", "ct", "cached", "cut", "words", "fail_first"}


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
            elif name == "tag":
                o.tag = value
            elif name == "errbody":
                o.errbody_text = value == "text"
            elif name in ("delay", "chunk_delay"):
                setattr(o, name, float(value) / 1000.0)
            elif name == "nousage":
                o.nousage = value not in ("", "0", "false")
        except ValueError:
            continue
    return o


@lru_cache(maxsize=4096)
def reply_pieces(n: int, tag: str | None) -> tuple[str, ...]:
    words = [VOCAB[i % len(VOCAB)] for i in range(max(n, 0))]
    if tag is not None:
        words.insert(0, f"[{tag}]")
    return tuple(w if i == 0 else " " + w for i, w in enumerate(words))


@lru_cache(maxsize=16384)
def embed_vec(seed: bytes) -> tuple[tuple[float, ...], str]:
    h = zlib.crc32(seed)
    vals = [((h >> (i * 4)) & 0xFF) / 255.0 - 0.5 + i * 0.01 for i in range(8)]
    packed = struct.pack("<8f", *vals)
    return struct.unpack("<8f", packed), base64.b64encode(packed).decode()


def chunk_base(cid: str, obj: str, created: int, model: Any) -> bytes:
    d = {"id": cid, "object": obj, "created": created, "model": model, "system_fingerprint": FP}
    return orjson.dumps(d)[:-1]


def new_id(prefix: str) -> str:
    return f"{prefix}-{_ID_PREFIX}{next(_IDS):08d}"


def json_resp(rid: str, body: bytes, status: int = 200) -> web.Response:
    return web.Response(
        body=body, status=status, headers={"Content-Type": JSON, "x-request-id": rid}
    )


def mock_error(rid: str, code: int, as_text: bool) -> web.Response:
    if as_text:
        return web.Response(
            body=f"mock failure {code}".encode(),
            status=code,
            headers={"Content-Type": "text/plain", "x-request-id": rid},
        )
    return json_resp(rid, err_body(f"mock error {code}", "mock_error", f"mock_{code}"), code)


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def usage_obj(o: Opts, pt: int, ct: int) -> dict[str, Any]:
    p = o.pt if o.pt is not None else pt
    c = o.ct if o.ct is not None else ct
    return {
        "prompt_tokens": p,
        "completion_tokens": c,
        "total_tokens": p + c,
        "prompt_tokens_details": {"cached_tokens": o.cached, "audio_tokens": 0},
        "completion_tokens_details": CTD,
    }


def tool_name(body: dict[str, Any], messages: list[Any]) -> str | None:
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


def include_usage(body: dict[str, Any]) -> bool:
    so = body.get("stream_options")
    return isinstance(so, dict) and so.get("include_usage") is True


async def sse_stream(
    req: web.BaseRequest,
    ctx: Ctx,
    head: bytes,
    bodies: list[tuple[bytes, bool]],
    usage: dict[str, Any] | None,
    usage_head: bytes,
) -> web.StreamResponse:
    """Write frames. ``head`` is the chunk JSON up to the choices payload, each body item is
    (rest of the chunk, is_content); the usage chunk is appended when ``usage`` is set."""
    resp = web.StreamResponse(headers={**SSE_HEADERS, "x-request-id": ctx.rid})
    o = ctx.opts
    sent = 0
    try:
        await resp.prepare(req)
        for rest, is_content in bodies:
            if is_content:
                if o.cut is not None and sent >= o.cut:
                    if req.transport is not None:
                        req.transport.abort()
                    return resp
                if sent and o.chunk_delay:
                    await asyncio.sleep(o.chunk_delay)
                sent += 1
            await resp.write(b"data: " + head + rest + b"\n\n")
        if usage is not None:
            await resp.write(b"data: " + usage_head + orjson.dumps(usage) + b"}\n\n")
        await resp.write(DONE)
        await resp.write_eof()
    except ConnectionError:
        pass
    return resp


async def chat(req: web.BaseRequest, ctx: Ctx) -> web.StreamResponse:
    body, o = ctx.body, ctx.opts
    messages = body.get("messages")
    if not isinstance(messages, list):
        messages = []
    pt = 7 + sum(len(text_of(m.get("content")).split()) for m in messages if isinstance(m, dict))
    model = body.get("model") or MODELS[0]
    cid, created = new_id("chatcmpl"), int(time.time())
    fn = tool_name(body, messages)
    pieces = TOOL_ARGS if fn is not None else reply_pieces(o.words, o.tag)
    usage = None if o.nousage else usage_obj(o, pt, len(pieces))
    finish = "stop" if fn is None else "tool_calls"
    if not body.get("stream"):
        msg: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        if fn is None:
            msg["content"] = "".join(pieces)
        else:
            msg["tool_calls"] = [
                {
                    "id": "call_mock1",
                    "type": "function",
                    "function": {"name": fn, "arguments": "".join(pieces)},
                }
            ]
        out: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "message": msg, "logprobs": None, "finish_reason": finish}],
        }
        if usage is not None:
            out["usage"] = usage
        out["system_fingerprint"] = FP
        return json_resp(ctx.rid, orjson.dumps(out))
    inc = include_usage(body)
    base = chunk_base(cid, "chat.completion.chunk", created, model)
    head = base + b',"choices":[{"index":0,"delta":'
    tail_none = b',"logprobs":null,"finish_reason":null}]' + (b',"usage":null}' if inc else b"}")
    if fn is None:
        first = b'{"role":"assistant","content":"","refusal":null}'
        frames = [(first + tail_none, False)]
        frames += [(b'{"content":' + orjson.dumps(p) + b"}" + tail_none, True) for p in pieces]
    else:
        first = (
            b'{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_mock1",'
            b'"type":"function","function":{"name":' + orjson.dumps(fn) + b',"arguments":""}}],'
            b'"refusal":null}'
        )
        frames = [(first + tail_none, False)]
        arg = b'{"tool_calls":[{"index":0,"function":{"arguments":'
        frames += [(arg + orjson.dumps(p) + b"}}]}" + tail_none, True) for p in pieces]
    fin = b',"logprobs":null,"finish_reason":"' + finish.encode() + b'"}]'
    tail_fin = fin + (b',"usage":null}' if inc else b"}")
    frames.append((b"{}" + tail_fin, False))
    return await sse_stream(
        req, ctx, head, frames, usage if inc else None, base + b',"choices":[],"usage":'
    )


async def completions(req: web.BaseRequest, ctx: Ctx) -> web.StreamResponse:
    body, o = ctx.body, ctx.opts
    prompt = body.get("prompt", "")
    prompts = prompt if isinstance(prompt, list) else [prompt]
    pt = sum(len(p.split()) if isinstance(p, str) else 1 for p in prompts)
    model = body.get("model") or "gpt-3.5-turbo-instruct"
    cid, created = new_id("cmpl"), int(time.time())
    pieces = reply_pieces(o.words, o.tag)
    usage = None if o.nousage else usage_obj(o, pt, len(pieces))
    if not body.get("stream"):
        out: dict[str, Any] = {
            "id": cid,
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": [
                {"text": "".join(pieces), "index": 0, "logprobs": None, "finish_reason": "stop"}
            ],
        }
        if usage is not None:
            out["usage"] = usage
        out["system_fingerprint"] = FP
        return json_resp(ctx.rid, orjson.dumps(out))
    inc = include_usage(body)
    base = chunk_base(cid, "text_completion", created, model)
    head = base + b',"choices":[{"text":'
    un = b',"usage":null}' if inc else b"}"
    tail = b',"index":0,"logprobs":null,"finish_reason":null}]' + un
    frames = [(orjson.dumps(p) + tail, True) for p in pieces]
    frames.append((b'"","index":0,"logprobs":null,"finish_reason":"stop"}]' + un, False))
    return await sse_stream(
        req, ctx, head, frames, usage if inc else None, base + b',"choices":[],"usage":'
    )


async def embeddings(req: web.BaseRequest, ctx: Ctx) -> web.StreamResponse:
    body, o = ctx.body, ctx.opts
    inp = body.get("input")
    if isinstance(inp, str):
        items: list[Any] = [inp]
    elif isinstance(inp, list) and inp and all(isinstance(x, int) for x in inp):
        items = [inp]
    elif isinstance(inp, list) and inp:
        items = inp
    else:
        return json_resp(
            ctx.rid, err_body("'input' is a required property", "invalid_request_error", None), 400
        )
    b64 = body.get("encoding_format") == "base64"
    data, n = [], 0
    for i, item in enumerate(items):
        if isinstance(item, str):
            n += len(item.split())
            seed = item.encode()
        elif isinstance(item, list):
            n += len(item)
            seed = orjson.dumps(item)
        else:
            return json_resp(
                ctx.rid, err_body("Invalid 'input'", "invalid_request_error", "invalid_input"), 400
            )
        floats, encoded = embed_vec(seed)
        data.append({"object": "embedding", "index": i, "embedding": encoded if b64 else floats})
    if o.pt is not None:
        n = o.pt
    out = {
        "object": "list",
        "data": data,
        "model": body.get("model") or "text-embedding-3-small",
        "usage": {"prompt_tokens": n, "total_tokens": n},
    }
    return json_resp(ctx.rid, orjson.dumps(out))


async def models(req: web.BaseRequest, ctx: Ctx) -> web.StreamResponse:
    return json_resp(ctx.rid, MODELS_BODY)


ROUTES: dict[tuple[str, str], tuple[Handler, bool]] = {
    ("POST", "/v1/chat/completions"): (chat, True),
    ("POST", "/v1/completions"): (completions, True),
    ("POST", "/v1/embeddings"): (embeddings, True),
    ("GET", "/v1/models"): (models, False),
}


def make_handler(state: State) -> Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]:
    async def control(req: web.BaseRequest, path: str, rid: str) -> web.StreamResponse:
        if path == "/_mock/health":
            return web.Response(text="ok", headers={"x-request-id": rid})
        if path == "/_mock/reset" and req.method == "POST":
            state.records.clear()
            state.fail_counts.clear()
            return json_resp(rid, b'{"ok":true}')
        if path == "/_mock/calls" and req.method == "GET":
            want = req.query.get("key")
            recs = [r for r in state.records if want is None or r["key"] == want]
            return json_resp(rid, orjson.dumps(recs))
        return json_resp(rid, err_body("Unknown mock control path", "not_found", None), 404)

    async def handle(req: web.BaseRequest) -> web.StreamResponse:
        rid = f"req_mock_{next(state.req_no)}"
        path = req.path
        if path.startswith("/_mock/"):
            return await control(req, path, rid)
        route = ROUTES.get((req.method, path))
        if route is None:
            msg = f"Invalid URL ({req.method} {path})"
            return json_resp(rid, err_body(msg, "invalid_request_error", None), 404)
        fn, has_body = route
        auth = req.headers.get("Authorization", "")
        key = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        if not key:
            key = req.headers.get("api-key", "").strip()
        body: Any = None
        if has_body:
            with contextlib.suppress(orjson.JSONDecodeError):
                body = orjson.loads(await req.read())
        d: dict[str, Any] = body if isinstance(body, dict) else {}
        hdrs = {
            kl: v
            for k, v in req.headers.items()
            if (kl := k.lower()) in KEPT_HEADERS or kl.startswith("x-")
        }
        rec = {"path": path, "key": key or None, "model": d.get("model"), "stream": False}
        rec.update(stream=bool(d.get("stream")), body=body, headers=hdrs)
        state.records.append(rec)
        opts = parse_key(key)
        wait = state.latency + opts.delay
        if wait > 0:
            await asyncio.sleep(wait)
        if not key:
            return json_resp(rid, NO_KEY_BODY, 401)
        if has_body and body is not d:
            return json_resp(rid, BAD_JSON_BODY, 400)
        if opts.fail_first > 0:
            done = state.fail_counts.get(key, 0)
            if done < opts.fail_first:
                state.fail_counts[key] = done + 1
                return mock_error(rid, 500, opts.errbody_text)
        if opts.status:
            return mock_error(rid, opts.status, opts.errbody_text)
        return await fn(req, Ctx(key, opts, d, rid))

    return handle


async def serve(host: str, port: int, latency_ms: float) -> None:
    state = State(latency_ms / 1000.0)
    server = web.Server(make_handler(state), access_log=None)
    runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096, reuse_address=True)
    await site.start()
    bound = runner.addresses[0][1]
    sys.stdout.write(f"READY port={bound}\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Mock OpenAI-compatible upstream")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    args = ap.parse_args(argv)
    uvloop.run(serve(args.host, args.port, args.latency_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
