"""The Anthropic Messages wire format: POST /v1/messages, whole or as an SSE event stream."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from mock_wire.common import (
    SSE_HEADERS,
    THINKING_TEXT,
    TOOL_ARGS,
    Ctx,
    Opts,
    json_resp,
    new_id,
    paced,
    prompt_words,
    reply_pieces,
    text_error,
    tool_name,
)

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def error_body(status: int, message: str) -> bytes:
    etype = ERROR_TYPES.get(status, "api_error")
    return orjson.dumps({"type": "error", "error": {"type": etype, "message": message}})


def error(rid: str, code: int, as_text: bool = False) -> web.Response:
    if as_text:
        return text_error(rid, code)
    return json_resp(rid, error_body(code, f"mock error {code}"), code)


def _usage(o: Opts, pt: int, ct: int) -> dict[str, Any]:
    return {
        "input_tokens": o.pt if o.pt is not None else pt,
        "cache_creation_input_tokens": o.cw + o.cw1h,
        "cache_read_input_tokens": o.cached,
        "cache_creation": {"ephemeral_5m_input_tokens": o.cw, "ephemeral_1h_input_tokens": o.cw1h},
        "output_tokens": o.ct if o.ct is not None else ct,
        "service_tier": "standard",
    }


def _check(ctx: Ctx, req: web.BaseRequest) -> web.Response | None:
    """The checks Anthropic makes before generating: version header, max_tokens, messages."""
    if not req.headers.get("anthropic-version"):
        return json_resp(ctx.rid, error_body(400, "anthropic-version: header is required"), 400)
    body = ctx.body
    if not isinstance(body.get("max_tokens"), int):
        return json_resp(ctx.rid, error_body(400, "max_tokens: Field required"), 400)
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return json_resp(ctx.rid, error_body(400, "messages: Field required"), 400)
    return None


def _blocks(ctx: Ctx, fn: str | None) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(content block start, its deltas) in order: thinking, then text or one tool_use."""
    o = ctx.opts
    out: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    if o.thinking:
        deltas = [{"type": "thinking_delta", "thinking": t} for t in THINKING_TEXT]
        deltas.append({"type": "signature_delta", "signature": "mock-signature"})
        out.append(({"type": "thinking", "thinking": "", "signature": ""}, deltas))
    if fn is None:
        pieces = reply_pieces(o.words, o.tag)
        out.append(
            ({"type": "text", "text": ""}, [{"type": "text_delta", "text": p} for p in pieces])
        )
    else:
        start = {"type": "tool_use", "id": "toolu_mock1", "name": fn, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": ""}]
        deltas += [{"type": "input_json_delta", "partial_json": p} for p in TOOL_ARGS]
        out.append((start, deltas))
    return out


def _whole(block: dict[str, Any], deltas: list[dict[str, Any]]) -> dict[str, Any]:
    if block["type"] == "thinking":
        text = "".join(d.get("thinking", "") for d in deltas)
        return {"type": "thinking", "thinking": text, "signature": "mock-signature"}
    if block["type"] == "text":
        return {"type": "text", "text": "".join(d["text"] for d in deltas)}
    return {**block, "input": orjson.loads("".join(d["partial_json"] for d in deltas))}


def _frame(event: dict[str, Any]) -> bytes:
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


async def messages(req: web.BaseRequest, ctx: Ctx) -> web.StreamResponse:
    refused = _check(ctx, req)
    if refused is not None:
        return refused
    body, o = ctx.body, ctx.opts
    fn = tool_name(body, body["messages"])
    blocks = _blocks(ctx, fn)
    completion = sum(len(deltas) for _, deltas in blocks)
    usage = _usage(o, prompt_words(body["messages"]), completion)
    stop = o.stop or ("tool_use" if fn is not None else "end_turn")
    message: dict[str, Any] = {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": body.get("model") or "claude-mock",
        "content": [_whole(b, d) for b, d in blocks],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage,
    }
    if not body.get("stream"):
        if o.nousage:
            del message["usage"]
        return json_resp(ctx.rid, orjson.dumps(message))
    return await _stream(req, ctx, message, blocks)


async def _stream(
    req: web.BaseRequest,
    ctx: Ctx,
    message: dict[str, Any],
    blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]],
) -> web.StreamResponse:
    o = ctx.opts
    usage = message["usage"]
    start_usage = {**usage, "output_tokens": 1}
    start = {**message, "content": [], "stop_reason": None, "usage": start_usage}
    resp = web.StreamResponse(headers={**SSE_HEADERS, "x-request-id": ctx.rid})
    sent = 0
    try:
        await resp.prepare(req)
        await resp.write(_frame({"type": "message_start", "message": start}))
        await resp.write(_frame({"type": "ping"}))
        for index, (block, deltas) in enumerate(blocks):
            head = {"type": "content_block_start", "index": index, "content_block": block}
            await resp.write(_frame(head))
            for delta in deltas:
                if not await paced(req, o, sent):
                    return resp
                sent += 1
                event = {"type": "content_block_delta", "index": index, "delta": delta}
                await resp.write(_frame(event))
            await resp.write(_frame({"type": "content_block_stop", "index": index}))
        end: dict[str, Any] = {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
        }
        if not o.nousage:
            end["usage"] = {"output_tokens": usage["output_tokens"]}
        await resp.write(_frame(end))
        await resp.write(_frame({"type": "message_stop"}))
        await resp.write_eof()
    except ConnectionError:
        pass
    return resp


ROUTES = {
    ("POST", "/v1/messages"): (messages, True),
    # the Anthropic-compatible APIs of DeepSeek and DashScope, where new-api sends Claude clients
    ("POST", "/anthropic/v1/messages"): (messages, True),
    ("POST", "/apps/anthropic/v1/messages"): (messages, True),
}
