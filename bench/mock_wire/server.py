"""The mock's HTTP server: control paths, request records, key options, format routes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import uvloop
from aiohttp import web

from mock_wire import anthropic, gemini, openai, openai_media, realtime
from mock_wire.common import Ctx, ErrorReply, Handler, State, json_resp, parse_key
from mock_wire.paths import openai_path

KEPT_HEADERS = frozenset(
    {
        "authorization",
        "content-type",
        "user-agent",
        "openai-organization",
        "anthropic-version",
        "anthropic-beta",
        "api-key",
    }
)
# The 8-byte PNG signature and an empty IHDR: enough to stand for an image by URL.
IMAGE_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
# (method, path) → (handler, reads a JSON body, the error reply of its format)
ROUTES: dict[tuple[str, str], tuple[Handler, bool, ErrorReply]] = {
    **{k: (fn, body, openai.mock_error) for k, (fn, body) in openai.ROUTES.items()},
    **{k: (fn, body, openai.mock_error) for k, (fn, body) in openai_media.ROUTES.items()},
    **{k: (fn, body, anthropic.error) for k, (fn, body) in anthropic.ROUTES.items()},
}


def _route(method: str, path: str) -> tuple[Handler, bool, ErrorReply] | None:
    """The fixed routes, then Gemini's, whose paths carry the model."""
    route = ROUTES.get((method, path))
    if route is None and (alias := openai_path(path)) is not None:
        route = ROUTES.get((method, alias))
    if route is None and method == "POST" and gemini.target(path) is not None:
        return gemini.generate, True, gemini.error
    return route


def _key(req: web.BaseRequest) -> str:
    auth = req.headers.get("Authorization", "")
    key = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    return key or req.headers.get("api-key", "").strip() or req.headers.get("x-api-key", "").strip()


def make_handler(state: State) -> Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]:
    async def control(req: web.BaseRequest, path: str, rid: str) -> web.StreamResponse:
        if path == "/_mock/health":
            return web.Response(text="ok", headers={"x-request-id": rid})
        if path == "/_mock/image.png":  # a fixed image for clients that send image URLs
            return web.Response(body=IMAGE_PNG, content_type="image/png")
        if path == "/_mock/reset" and req.method == "POST":
            state.records.clear()
            state.fail_counts.clear()
            return json_resp(rid, b'{"ok":true}')
        if path == "/_mock/calls" and req.method == "GET":
            want = req.query.get("key")
            recs = [r for r in state.records if want is None or r["key"] == want]
            return json_resp(rid, orjson.dumps(recs))
        body = openai.err_body("Unknown mock control path", "not_found", None)
        return json_resp(rid, body, 404)

    async def handle(req: web.BaseRequest) -> web.StreamResponse:
        rid = f"req_mock_{next(state.req_no)}"
        path = req.path
        if path.startswith("/_mock/"):
            return await control(req, path, rid)
        if path in (realtime.PATH, realtime.AZURE_PATH) and req.method == "GET":
            return await realtime.serve(req, state, rid)
        route = _route(req.method, path)
        if route is None:
            msg = f"Invalid URL ({req.method} {path})"
            return json_resp(rid, openai.err_body(msg, "invalid_request_error", None), 404)
        fn, has_body, error = route
        key = gemini.key_of(req) if error is gemini.error else _key(req)
        body: Any = None
        if has_body and req.content_type == "multipart/form-data":  # recorded field by field
            body = openai_media.form_fields(req.headers["Content-Type"], await req.read())
        elif has_body:
            with contextlib.suppress(orjson.JSONDecodeError):
                body = orjson.loads(await req.read())
        d: dict[str, Any] = body if isinstance(body, dict) else {}
        hdrs = {
            kl: v
            for k, v in req.headers.items()
            if (kl := k.lower()) in KEPT_HEADERS or kl.startswith("x-")
        }
        rec = {"path": path, "key": key or None, "model": d.get("model"), "stream": False}
        rec.update(stream=bool(d.get("stream")), body=body, headers=hdrs, query=dict(req.query))
        if error is gemini.error:
            rec.update(gemini.record_fields(path, req))
        state.records.append(rec)
        opts = parse_key(key)
        wait = state.latency + opts.delay
        if wait > 0:
            await asyncio.sleep(wait)
        if not key:
            if error is anthropic.error:
                body401 = anthropic.error_body(401, "x-api-key header is required")
                return json_resp(rid, body401, 401)
            if error is gemini.error:
                return json_resp(rid, gemini.error_body(403, gemini.NO_KEY_MESSAGE), 403)
            return json_resp(rid, openai.NO_KEY_BODY, 401)
        if has_body and body is not d:
            if error is anthropic.error:
                return json_resp(rid, anthropic.error_body(400, "invalid JSON body"), 400)
            if error is gemini.error:
                return json_resp(rid, gemini.error_body(400, "Invalid JSON payload received."), 400)
            return json_resp(rid, openai.BAD_JSON_BODY, 400)
        if opts.fail_first > 0:
            done = state.fail_counts.get(key, 0)
            if done < opts.fail_first:
                state.fail_counts[key] = done + 1
                return error(rid, 500, opts.errbody_text)
        if opts.status:
            return error(rid, opts.status, opts.errbody_text)
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
    ap = argparse.ArgumentParser(description="Mock LLM upstream (OpenAI, Anthropic, Gemini)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    args = ap.parse_args(argv)
    uvloop.run(serve(args.host, args.port, args.latency_ms))
    return 0
