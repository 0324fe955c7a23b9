"""The Gemini wire format: POST /v1beta/models/{model}:generateContent, :streamGenerateContent
as SSE (`alt=sse`) or, without it, as one JSON array streamed, and :embedContent /
:batchEmbedContents."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from mock_wire.common import (
    SSE_HEADERS,
    THINKING_TEXT,
    Ctx,
    Opts,
    json_resp,
    new_id,
    paced,
    reply_pieces,
    text_error,
)

# HTTP status → google.rpc.Code name, as Google's error bodies carry it.
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
ACTIONS = ("generateContent", "streamGenerateContent", "embedContent", "batchEmbedContents")
EMBED_DIMENSIONS = 8
NO_KEY_MESSAGE = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
TOOL_ARGS = {"city": "Paris"}


def error_body(status: int, message: str) -> bytes:
    name = STATUS_NAMES.get(status, "UNKNOWN")
    return orjson.dumps({"error": {"code": status, "message": message, "status": name}})


def error(rid: str, code: int, as_text: bool = False) -> web.Response:
    if as_text:
        return text_error(rid, code)
    return json_resp(rid, error_body(code, f"mock error {code}"), code)


def target(path: str) -> tuple[str, str] | None:
    """(model, action) of `/v1beta/models/{model}:{action}` (also /v1/models/), else None."""
    for prefix in ("/v1beta/models/", "/v1/models/"):
        if path.startswith(prefix):
            model, _, action = path[len(prefix) :].partition(":")
            if model and action in ACTIONS:
                return model, action
    return None


def key_of(req: web.BaseRequest) -> str:
    """x-goog-api-key, else ?key= (what Google reads)."""
    return req.headers.get("x-goog-api-key", "").strip() or req.query.get("key", "").strip()


def record_fields(path: str, req: web.BaseRequest) -> dict[str, Any]:
    """The model and stream flag of a request record, which Gemini puts in the URL."""
    found = target(path)
    model, action = found if found is not None else (None, "")
    return {"model": model, "stream": action == "streamGenerateContent", "query": dict(req.query)}


def _texts(content: Any) -> list[str]:
    parts = content.get("parts") if isinstance(content, dict) else None
    items = parts if isinstance(parts, list) else []
    return [p["text"] for p in items if isinstance(p, dict) and isinstance(p.get("text"), str)]


def _prompt_words(body: dict[str, Any]) -> int:
    contents = [*body.get("contents", ()), body.get("systemInstruction")]
    return 7 + sum(len(t.split()) for c in contents for t in _texts(c))


def _function(body: dict[str, Any]) -> str | None:
    """The function to call: the first declared, when the last user turn asks for weather."""
    tools = body.get("tools")
    declared = [
        fn
        for tool in (tools if isinstance(tools, list) else [])
        if isinstance(tool, dict)
        for fn in tool.get("functionDeclarations") or ()
        if isinstance(fn, dict)
    ]
    if not declared:
        return None
    for content in reversed(body["contents"]):
        if isinstance(content, dict) and content.get("role", "user") == "user":
            if "weather" not in " ".join(_texts(content)).lower():
                return None
            return str(declared[0].get("name") or "tool")
    return None


def _usage(o: Opts, prompt: int, completion: int, thoughts: int) -> dict[str, Any]:
    pt = o.pt if o.pt is not None else prompt
    ct = o.ct if o.ct is not None else completion
    usage: dict[str, Any] = {
        "promptTokenCount": pt,
        "candidatesTokenCount": ct,
        "totalTokenCount": pt + ct + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": pt}],
    }
    if o.cached:
        usage["cachedContentTokenCount"] = o.cached
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return usage


def _candidate(parts: list[dict[str, Any]], finish: str | None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    return candidate


def _check(ctx: Ctx) -> web.Response | None:
    contents = ctx.body.get("contents")
    if not isinstance(contents, list) or not contents:
        body = error_body(400, "* GenerateContentRequest.contents: contents is not specified")
        return json_resp(ctx.rid, body, 400)
    return None


def _values(text: str) -> list[float]:
    """A deterministic unit-ish vector for a text (its length and first letters)."""
    seed = sum(map(ord, text[:16])) + len(text)
    return [round(((seed * (i + 3)) % 1000) / 1000.0, 3) for i in range(EMBED_DIMENSIONS)]


def _embed(ctx: Ctx, batch: bool) -> web.Response:
    """embedContent → {"embedding": {values}}; batchEmbedContents → {"embeddings": [...]}."""
    body = ctx.body
    requests = body.get("requests") if batch else [body]
    if not isinstance(requests, list) or not requests:
        message = "* BatchEmbedContentsRequest.requests: requests is not specified"
        return json_resp(ctx.rid, error_body(400, message), 400)
    embeddings = []
    for request in requests:
        content = request.get("content") if isinstance(request, dict) else None
        if not isinstance(content, dict):
            message = "* EmbedContentRequest.content: content is not specified"
            return json_resp(ctx.rid, error_body(400, message), 400)
        embeddings.append({"values": _values(" ".join(_texts(content)))})
    reply = {"embeddings": embeddings} if batch else {"embedding": embeddings[0]}
    return json_resp(ctx.rid, orjson.dumps(reply))


async def generate(req: web.BaseRequest, ctx: Ctx) -> web.StreamResponse:
    found = target(req.path)
    model, action = found if found is not None else ("gemini-mock", "generateContent")
    if action in ("embedContent", "batchEmbedContents"):
        return _embed(ctx, action == "batchEmbedContents")
    refused = _check(ctx)
    if refused is not None:
        return refused
    o = ctx.opts
    fn = _function(ctx.body)
    thoughts = [{"text": t, "thought": True} for t in THINKING_TEXT] if o.thinking else []
    if fn is None:
        pieces = [{"text": p} for p in reply_pieces(o.words, o.tag)]
    else:
        pieces = [{"functionCall": {"name": fn, "args": TOOL_ARGS}}]
    finish = o.stop or "STOP"
    usage = _usage(o, _prompt_words(ctx.body), len(pieces), len(thoughts))
    head = {"modelVersion": model, "responseId": new_id("resp")}
    if action == "generateContent":
        text = "".join(str(p.get("text", "")) for p in pieces)
        thought = "".join(str(t["text"]) for t in thoughts)
        parts = [{"text": thought, "thought": True}] if thoughts else []
        parts += [{"text": text}] if fn is None else pieces
        body: dict[str, Any] = {"candidates": [_candidate(parts, finish)], **head}
        if not o.nousage:
            body["usageMetadata"] = usage
        return json_resp(ctx.rid, orjson.dumps(body))
    return await _stream(req, ctx, [*thoughts, *pieces], finish, usage, head)


async def _stream(
    req: web.BaseRequest,
    ctx: Ctx,
    parts: list[dict[str, Any]],
    finish: str,
    usage: dict[str, Any],
    head: dict[str, Any],
) -> web.StreamResponse:
    """One part per event; every event repeats a cumulative usageMetadata, as Gemini does."""
    o = ctx.opts
    sse = req.query.get("alt") == "sse"
    content_type = SSE_HEADERS if sse else {"Content-Type": "application/json"}
    resp = web.StreamResponse(headers={**content_type, "x-request-id": ctx.rid})
    try:
        await resp.prepare(req)
        if not sse:
            await resp.write(b"[")
        for i, part in enumerate(parts):
            if not await paced(req, o, i):
                return resp
            last = i == len(parts) - 1
            event: dict[str, Any] = {"candidates": [_candidate([part], finish if last else None)]}
            if not o.nousage:
                so_far = sum(1 for p in parts[: i + 1] if not p.get("thought"))
                ct = usage["candidatesTokenCount"] if last else so_far
                event["usageMetadata"] = {**usage, "candidatesTokenCount": ct}
            event.update(head)
            data = orjson.dumps(event)
            if sse:
                await resp.write(b"data: " + data + b"\r\n\r\n")
            else:
                await resp.write((b",\r\n" if i else b"") + data)
        if not sse:
            await resp.write(b"]")
        await resp.write_eof()
    except ConnectionError:
        pass
    return resp
