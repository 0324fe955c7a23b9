"""The OpenAI wire format: chat completions, Responses, legacy completions, embeddings, models."""

from __future__ import annotations

import base64
import itertools
import struct
import time
import zlib
from functools import lru_cache
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

FP = "fp_mock"
MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo-instruct", "text-embedding-3-small")
MODELS_BODY = orjson.dumps(
    {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": 1700000000, "owned_by": "mock"} for m in MODELS
        ],
    }
)
CTD = {
    "reasoning_tokens": 0,
    "audio_tokens": 0,
    "accepted_prediction_tokens": 0,
    "rejected_prediction_tokens": 0,
}
DONE = b"data: [DONE]\n\n"


def err_body(message: str, etype: str, code: str | None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": etype, "param": None, "code": code}})


NO_KEY_BODY = err_body("You didn't provide an API key.", "invalid_request_error", None)
BAD_JSON_BODY = err_body(
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly.)",
    "invalid_request_error",
    None,
)


def mock_error(rid: str, code: int, as_text: bool) -> web.Response:
    if as_text:
        return text_error(rid, code)
    return json_resp(rid, err_body(f"mock error {code}", "mock_error", f"mock_{code}"), code)


@lru_cache(maxsize=16384)
def embed_vec(seed: bytes) -> tuple[tuple[float, ...], str]:
    h = zlib.crc32(seed)
    vals = [((h >> (i * 4)) & 0xFF) / 255.0 - 0.5 + i * 0.01 for i in range(8)]
    packed = struct.pack("<8f", *vals)
    return struct.unpack("<8f", packed), base64.b64encode(packed).decode()


def chunk_base(cid: str, obj: str, created: int, model: Any) -> bytes:
    d = {"id": cid, "object": obj, "created": created, "model": model, "system_fingerprint": FP}
    return orjson.dumps(d)[:-1]


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
                if not await paced(req, o, sent):
                    return resp
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
    pt = prompt_words(messages)
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
            if o.thinking:
                msg["reasoning_content"] = "".join(THINKING_TEXT)
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
        if o.thinking:  # DeepSeek-style reasoning before the answer
            think = b'{"reasoning_content":'
            frames += [(think + orjson.dumps(t) + b"}" + tail_none, True) for t in THINKING_TEXT]
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


# --- Responses API (POST /v1/responses) -----------------------------------------------------------

_RESPONSE_ITEMS = itertools.count(1)
# Request fields a Response object echoes, with OpenAI's values when the request leaves them out.
RESPONSE_ECHO: dict[str, Any] = {
    "instructions": None,
    "max_output_tokens": None,
    "max_tool_calls": None,
    "metadata": {},
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "prompt_cache_key": None,
    "safety_identifier": None,
    "service_tier": "default",
    "store": True,
    "temperature": 1.0,
    "tool_choice": "auto",
    "tools": [],
    "top_logprobs": 0,
    "top_p": 1.0,
    "truncation": "disabled",
    "user": None,
}


def input_messages(body: dict[str, Any]) -> list[Any]:
    """The Responses input as role/content messages (for the prompt size and the tool choice)."""
    inp = body.get("input")
    if isinstance(inp, str):
        return [{"role": "user", "content": inp}]
    return [i for i in inp if isinstance(i, dict) and "role" in i] if isinstance(inp, list) else []


def responses_usage(o: Opts, pt: int, ct: int, reasoning: int) -> dict[str, Any]:
    p = o.pt if o.pt is not None else pt
    c = o.ct if o.ct is not None else ct + reasoning
    return {
        "input_tokens": p,
        "input_tokens_details": {"cached_tokens": o.cached},
        "output_tokens": c,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": p + c,
    }


def response_obj(
    rid: str, created: int, body: dict[str, Any], status: str, output: list[Any], usage: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "model": body.get("model") or MODELS[0],
        "output": output,
    }
    for key, default in RESPONSE_ECHO.items():
        value = body.get(key)
        out[key] = default if value is None else value
    reasoning = body.get("reasoning")
    out["reasoning"] = (
        reasoning if isinstance(reasoning, dict) else {"effort": None, "summary": None}
    )
    out["text"] = body.get("text") or {"format": {"type": "text"}, "verbosity": "medium"}
    out["usage"] = usage
    return out


def output_items(body: dict[str, Any], o: Opts) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    """(finished output item, the pieces it streams) in order: reasoning, then text or a call."""
    n = next(_RESPONSE_ITEMS)
    items: list[tuple[dict[str, Any], tuple[str, ...]]] = []
    if o.thinking:
        text = "".join(THINKING_TEXT)
        summary = [{"type": "summary_text", "text": text}]
        items.append(
            ({"id": f"rs_mock{n}", "type": "reasoning", "summary": summary}, THINKING_TEXT)
        )
    fn = tool_name(body, input_messages(body))
    if fn is not None:
        call = {
            "id": f"fc_mock{n}",
            "type": "function_call",
            "status": "completed",
            "arguments": "".join(TOOL_ARGS),
            "call_id": "call_mock1",
            "name": fn,
        }
        items.append((call, TOOL_ARGS))
    else:
        pieces = reply_pieces(o.words, o.tag)
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": "".join(pieces)}
        msg = {
            "id": f"msg_mock{n}",
            "type": "message",
            "status": "completed",
            "content": [part],
            "role": "assistant",
        }
        items.append((msg, pieces))
    return items


def item_events(index: int, item: dict[str, Any], pieces: tuple[str, ...]) -> list[Any]:
    """The events of one output item as (type, fields, is_content), in OpenAI's order."""
    where = {"item_id": item["id"], "output_index": index}
    kind = item["type"]
    if kind == "function_call":
        events: list[Any] = [
            ("response.output_item.added", {"output_index": index, "item": {
                **item, "status": "in_progress", "arguments": ""}}, False),
        ]  # fmt: skip
        events += [
            ("response.function_call_arguments.delta", {**where, "delta": p}, True) for p in pieces
        ]
        done = {**where, "arguments": item["arguments"]}
        events.append(("response.function_call_arguments.done", done, False))
    else:
        parts, idx, part_ev, text_ev = (
            ("summary", "summary_index", "response.reasoning_summary_part",
             "response.reasoning_summary_text")
            if kind == "reasoning"
            else ("content", "content_index", "response.content_part", "response.output_text")
        )  # fmt: skip
        part = item[parts][0]
        empty = {**item, parts: []}
        if kind == "message":
            empty["status"] = "in_progress"
        at = {**where, idx: 0}
        extra: dict[str, Any] = {"logprobs": []} if kind == "message" else {}
        events = [
            ("response.output_item.added", {"output_index": index, "item": empty}, False),
            (part_ev + ".added", {**at, "part": {**part, "text": ""}}, False),
        ]
        events += [(text_ev + ".delta", {**at, "delta": p, **extra}, True) for p in pieces]
        events.append((text_ev + ".done", {**at, "text": part["text"], **extra}, False))
        events.append((part_ev + ".done", {**at, "part": part}, False))
    events.append(("response.output_item.done", {"output_index": index, "item": item}, False))
    return events


async def responses(req: web.BaseRequest, ctx: Ctx) -> web.StreamResponse:
    body, o = ctx.body, ctx.opts
    if not isinstance(body.get("model"), str) or body.get("input") is None:
        msg = "Missing required parameter: 'model' or 'input'."
        return json_resp(
            ctx.rid, err_body(msg, "invalid_request_error", "missing_required_parameter"), 400
        )
    pt = prompt_words(input_messages(body))
    if isinstance(body.get("instructions"), str):
        pt += len(body["instructions"].split())
    items = output_items(body, o)
    reasoning = len(items[0][1]) if o.thinking else 0
    ct = len(items[-1][1])
    usage = None if o.nousage else responses_usage(o, pt, ct, reasoning)
    rid, created = new_id("resp"), int(time.time())
    output = [item for item, _ in items]
    if not body.get("stream"):
        return json_resp(
            ctx.rid, orjson.dumps(response_obj(rid, created, body, "completed", output, usage))
        )
    start = response_obj(rid, created, body, "in_progress", [], None)
    events: list[Any] = [
        ("response.created", {"response": start}, False),
        ("response.in_progress", {"response": start}, False),
    ]
    for index, (item, pieces) in enumerate(items):
        events += item_events(index, item, pieces)
    final = response_obj(rid, created, body, "completed", output, usage)
    events.append(("response.completed", {"response": final}, False))
    return await responses_stream(req, ctx, events)


async def responses_stream(req: web.BaseRequest, ctx: Ctx, events: list[Any]) -> web.StreamResponse:
    """Write (type, fields, is_content) events as named SSE events with sequence numbers."""
    resp = web.StreamResponse(headers={**SSE_HEADERS, "x-request-id": ctx.rid})
    o = ctx.opts
    sent = 0
    try:
        await resp.prepare(req)
        for seq, (kind, fields, is_content) in enumerate(events):
            if is_content:
                if not await paced(req, o, sent):
                    return resp
                sent += 1
            data = orjson.dumps({"type": kind, "sequence_number": seq, **fields})
            await resp.write(b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n")
        await resp.write_eof()
    except ConnectionError:
        pass
    return resp


ROUTES = {
    ("POST", "/v1/chat/completions"): (chat, True),
    ("POST", "/v1/responses"): (responses, True),
    ("POST", "/responses"): (responses, True),  # DeepSeek's path (new-api: {base}/responses)
    ("POST", "/v1/completions"): (completions, True),
    ("POST", "/v1/embeddings"): (embeddings, True),
    ("GET", "/v1/models"): (models, False),
}
