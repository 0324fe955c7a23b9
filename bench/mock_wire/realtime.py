"""OpenAI Realtime over WebSocket (GET /v1/realtime).

On connect: `session.created`. `session.update` → `session.updated`; `conversation.item.create`
→ `conversation.item.created`; `input_audio_buffer.append` is kept (its size recorded) and
`input_audio_buffer.commit` → `input_audio_buffer.committed`; `response.create` →
`response.created`, the reply as text deltas (`response.output_text.delta`, or
`response.text.delta` for the beta `-realtime-preview` models), its `.done` and
`response.done` with usage; a binary frame is echoed back. `mock.close {code, reason}` makes
the mock close the socket with that code. Every event received is recorded in the call's
record (`events`; audio as its length), with the close code the client sent.

Key options (mock_wire.common.Opts): status (refuse the handshake), pt / ct / cached (usage:
text input / output, cached input), nousage, words, tag, chunk_delay, cut (drop the connection
after N deltas); and here ain / aout: input / output audio tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from mock_wire import openai
from mock_wire.common import Opts, State, json_resp, new_id, parse_key, reply_pieces

PATH = "/v1/realtime"
AZURE_PATH = "/openai/realtime"  # Azure's: ?deployment=…&api-version=…, key in `api-key`
_KEY_PROTOCOL = "openai-insecure-api-key."
_KEPT = (
    "authorization", "api-key", "openai-beta", "openai-organization", "sec-websocket-protocol",
)  # fmt: skip


def _offered(req: web.BaseRequest) -> list[str]:
    raw = req.headers.get("Sec-WebSocket-Protocol", "")
    return [p.strip() for p in raw.split(",") if p.strip()]


def _key(req: web.BaseRequest) -> str:
    for item in _offered(req):
        if item.startswith(_KEY_PROTOCOL):
            return item[len(_KEY_PROTOCOL) :]
    auth = req.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return req.headers.get("api-key", "")


def _audio_opts(key: str) -> tuple[int, int]:
    found = {"ain": 0, "aout": 0}
    for item in key.split(";")[1:]:
        name, _, value = item.partition("=")
        if name.strip() in found and value.strip().isdigit():
            found[name.strip()] = int(value)
    return found["ain"], found["aout"]


class _Conversation:
    """One mock session's state."""

    def __init__(self, ws: web.WebSocketResponse, key: str, model: str, beta: bool) -> None:
        self.ws = ws
        self.opts: Opts = parse_key(key)
        self.audio_in, self.audio_out = _audio_opts(key)
        self.model = model
        self.beta = beta
        self.session: dict[str, Any] = {
            "id": new_id("sess"),
            "object": "realtime.session",
            "model": model,
            "modalities": ["text", "audio"],
            "instructions": "",
        }
        self.input_words = 0
        self.audio_bytes = 0

    async def send(self, event: dict[str, Any]) -> None:
        event.setdefault("event_id", new_id("event"))
        await self.ws.send_str(orjson.dumps(event).decode())

    async def on_event(self, event: dict[str, Any], req: web.BaseRequest) -> None:
        kind = event.get("type")
        if kind == "session.update" and isinstance(event.get("session"), dict):
            self.session.update(event["session"])
            await self.send({"type": "session.updated", "session": self.session})
        elif kind == "conversation.item.create" and isinstance(event.get("item"), dict):
            item = {**event["item"], "id": event["item"].get("id") or new_id("item")}
            for part in item.get("content") or []:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    self.input_words += len(part["text"].split())
            await self.send({"type": "conversation.item.created", "item": item})
        elif kind == "input_audio_buffer.commit":
            await self.send({"type": "input_audio_buffer.committed", "item_id": new_id("item")})
        elif kind == "response.create":
            await self.respond(req)
        elif kind == "mock.close":
            reason = str(event.get("reason", "")).encode()
            await self.ws.close(code=int(event.get("code", 1000)), message=reason)
        elif kind != "input_audio_buffer.append":  # OpenAI answers appends with nothing
            error = {
                "type": "invalid_request_error",
                "code": "unknown_event",
                "message": f"Unknown event type {kind!r}",
            }
            await self.send({"type": "error", "error": error})

    def usage(self, words: int) -> dict[str, Any] | None:
        if self.opts.nousage:
            return None
        text_in = self.opts.pt if self.opts.pt is not None else 7 + self.input_words
        text_out = self.opts.ct if self.opts.ct is not None else words
        cached = self.opts.cached
        return {
            "total_tokens": text_in + self.audio_in + text_out + self.audio_out,
            "input_tokens": text_in + self.audio_in,
            "output_tokens": text_out + self.audio_out,
            "input_token_details": {
                "text_tokens": text_in,
                "audio_tokens": self.audio_in,
                "cached_tokens": cached,
            },
            "output_token_details": {"text_tokens": text_out, "audio_tokens": self.audio_out},
        }

    async def respond(self, req: web.BaseRequest) -> None:
        opts = self.opts
        rid, item_id = new_id("resp"), new_id("item")
        response: dict[str, Any] = {
            "id": rid,
            "object": "realtime.response",
            "status": "in_progress",
            "output": [],
            "usage": None,
        }
        await self.send({"type": "response.created", "response": response})
        pieces = reply_pieces(opts.words, opts.tag)
        delta_type = "response.text.delta" if self.beta else "response.output_text.delta"
        where = {"response_id": rid, "item_id": item_id, "output_index": 0, "content_index": 0}
        for sent, piece in enumerate(pieces):
            if opts.cut is not None and sent >= opts.cut:
                if req.transport is not None:
                    req.transport.abort()
                return
            if sent and opts.chunk_delay:
                await asyncio.sleep(opts.chunk_delay)
            await self.send({"type": delta_type, **where, "delta": piece})
        text = "".join(pieces)
        done_type = "response.text.done" if self.beta else "response.output_text.done"
        await self.send({"type": done_type, **where, "text": text})
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text}],
        }
        response = {
            **response,
            "status": "completed",
            "output": [item],
            "usage": self.usage(len(pieces)),
        }
        await self.send({"type": "response.done", "response": response})


def _summary(event: Any) -> Any:
    """What the record keeps of a client event: audio payloads only by length."""
    if isinstance(event, dict) and isinstance(event.get("audio"), str):
        return {**event, "audio": len(event["audio"])}
    return event


async def serve(req: web.BaseRequest, state: State, rid: str) -> web.StreamResponse:
    key = _key(req)
    model = req.query.get("model") or req.query.get("deployment", "")
    rec: dict[str, Any] = {
        "path": req.path,
        "key": key or None,
        "model": model or None,
        "stream": True,
        "body": None,
        "query": dict(req.query),
        "headers": {k: req.headers[k] for k in _KEPT if k in req.headers},
        "events": [],
        "close_code": None,
    }
    state.records.append(rec)
    opts = parse_key(key)
    if not key:
        return json_resp(rid, openai.NO_KEY_BODY, 401)
    if opts.status:
        return openai.mock_error(rid, opts.status, opts.errbody_text)
    offered = _offered(req)
    ws = web.WebSocketResponse(
        protocols=("realtime",) if "realtime" in offered else (), max_msg_size=0
    )
    await ws.prepare(req)
    beta = "-realtime-preview" in model
    conv = _Conversation(ws, key, model, beta)
    await conv.send({"type": "session.created", "session": conv.session})
    async for msg in ws:
        if msg.type is WSMsgType.TEXT:
            try:
                event = orjson.loads(msg.data)
            except orjson.JSONDecodeError:
                rec["events"].append({"invalid": msg.data[:200]})
                continue
            rec["events"].append(_summary(event))
            if isinstance(event, dict):
                with contextlib.suppress(ConnectionResetError):
                    await conv.on_event(event, req)
        elif msg.type is WSMsgType.BINARY:
            rec["events"].append({"binary": len(msg.data)})
            await ws.send_bytes(msg.data)
    rec["close_code"] = ws.close_code
    return ws
