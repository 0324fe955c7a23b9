"""The OpenAI wire format's media routes: images (generations, edits), audio (speech,
transcriptions, translations), moderations, and the Jina-style rerank of compatible vendors.

Multipart bodies are read with the standard library's email parser (independent of relay's
own reader) into the fields recorded for tests: text fields as strings, files as
{filename, content_type, size, sha256}.
"""

from __future__ import annotations

import base64
import hashlib
import time
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from functools import lru_cache
from typing import Any

import orjson
from aiohttp import web

from mock_wire.common import SSE_HEADERS, Ctx, json_resp, new_id, reply_pieces

# One MPEG-1 Layer III frame header: 128 kbit/s, 44.1 kHz, no padding, mono. A frame is 417
# bytes and lasts 1152 / 44100 s; the speech mock answers SPEECH_FRAMES of them (≈2.01 s).
MP3_FRAME = b"\xff\xfb\x90\xc4" + bytes(413)
SPEECH_FRAMES = 77
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABXvMqGgAAAABJRU5ErkJggg=="
)
TRANSCRIPT_SECONDS = 3.2  # the duration whisper-style usage reports
_CATEGORIES = ("harassment", "hate", "self-harm", "sexual", "violence")


def form_fields(content_type: str, body: bytes) -> dict[str, Any] | None:
    """A multipart/form-data body's fields (repeated names → lists), None if it is not one."""
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    if not isinstance(msg, Message) or msg.get_content_type() != "multipart/form-data":
        return None
    fields: dict[str, Any] = {}
    for part in msg.iter_parts() if hasattr(msg, "iter_parts") else ():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        value: Any = data.decode("utf-8", "replace")
        if filename is not None:
            value = {
                "filename": filename,
                "content_type": part.get_content_type(),
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        if name in fields:
            prior = fields[name]
            fields[name] = [*(prior if isinstance(prior, list) else [prior]), value]
        else:
            fields[str(name)] = value
    return fields


def _text(ctx: Ctx) -> str:
    return "".join(reply_pieces(ctx.opts.words, ctx.opts.tag))


def _n(value: Any) -> int:
    try:
        return max(1, min(int(value), 10))
    except (TypeError, ValueError):
        return 1


@lru_cache(maxsize=1)
def _png_b64() -> str:
    return base64.b64encode(PNG_1X1).decode()


def _image_usage(ctx: Ctx) -> dict[str, Any]:
    pt = 20 if ctx.opts.pt is None else ctx.opts.pt
    ct = 272 if ctx.opts.ct is None else ctx.opts.ct
    return {
        "total_tokens": pt + ct,
        "input_tokens": pt,
        "output_tokens": ct,
        "input_tokens_details": {"text_tokens": pt, "image_tokens": 0},
    }


async def images(req: web.BaseRequest, ctx: Ctx) -> web.StreamResponse:
    """Generations and edits: `n` images as b64_json (default) or URLs; gpt-image models
    report token usage, dall-e ones none; `stream` answers the completed-image events."""
    body = ctx.body
    model = str(body.get("model") or "")
    n = _n(body.get("n"))
    usage = _image_usage(ctx) if model.startswith("gpt-image") and not ctx.opts.nousage else None
    if body.get("response_format") == "url":
        item: dict[str, Any] = {"url": f"http://{req.host}/_mock/image.png"}
    else:
        item = {"b64_json": _png_b64()}
    if str(body.get("stream")).lower() == "true":
        kind = (
            "image_edit.completed" if req.path.endswith("/edits") else "image_generation.completed"
        )
        resp = web.StreamResponse(headers={**SSE_HEADERS, "x-request-id": ctx.rid})
        await resp.prepare(req)
        for _ in range(n):
            event = {"type": kind, "b64_json": _png_b64(), "created_at": int(time.time())}
            if usage is not None:
                event["usage"] = usage
            await resp.write(
                b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"
            )
        await resp.write_eof()
        return resp
    if ctx.opts.tag and model == "dall-e-3":
        item["revised_prompt"] = f"[{ctx.opts.tag}] {body.get('prompt', '')}"
    reply: dict[str, Any] = {"created": int(time.time()), "data": [dict(item) for _ in range(n)]}
    if usage is not None:
        reply["usage"] = usage
    return json_resp(ctx.rid, orjson.dumps(reply))


def _wav(pcm: bytes) -> bytes:
    header = b"RIFF" + (36 + len(pcm)).to_bytes(4, "little") + b"WAVEfmt "
    fmt = (16).to_bytes(4, "little") + bytes.fromhex("0100 0100 c05d0000 80bb0000 0200 1000")
    return header + fmt + b"data" + len(pcm).to_bytes(4, "little") + pcm


async def speech(req: web.BaseRequest, ctx: Ctx) -> web.StreamResponse:
    """Binary audio: ≈2 s of mp3 frames (default), a 1 s 24 kHz wav or raw pcm; with
    stream_format=sse, speech.audio.delta events and a speech.audio.done with usage."""
    body = ctx.body
    fmt = body.get("response_format") or "mp3"
    if body.get("stream_format") == "sse":
        resp = web.StreamResponse(headers={**SSE_HEADERS, "x-request-id": ctx.rid})
        await resp.prepare(req)
        chunk = base64.b64encode(MP3_FRAME).decode()
        for _ in range(2):
            event = orjson.dumps({"type": "speech.audio.delta", "audio": chunk})
            await resp.write(b"data: " + event + b"\n\n")
        pt = ctx.opts.pt if ctx.opts.pt is not None else len(str(body.get("input", "")).split())
        ct = ctx.opts.ct if ctx.opts.ct is not None else 30
        done = {
            "type": "speech.audio.done",
            "usage": {"input_tokens": pt, "output_tokens": ct, "total_tokens": pt + ct},
        }
        await resp.write(b"data: " + orjson.dumps(done) + b"\n\n")
        await resp.write_eof()
        return resp
    if fmt == "wav":
        audio, mime = _wav(bytes(48000)), "audio/wav"
    elif fmt == "pcm":
        audio, mime = bytes(48000), "audio/pcm"
    else:
        audio, mime = MP3_FRAME * SPEECH_FRAMES, "audio/mpeg"
    return web.Response(body=audio, headers={"Content-Type": mime, "x-request-id": ctx.rid})


def _subtitles(text: str, vtt: bool) -> str:
    stamp = "00:00:00.000 --> 00:00:03.200" if vtt else "00:00:00,000 --> 00:00:03,200"
    return ("WEBVTT\n\n" if vtt else "1\n") + f"{stamp}\n{text}\n\n"


async def transcription(req: web.BaseRequest, ctx: Ctx) -> web.StreamResponse:
    """Transcriptions and translations in every response_format; usage is whisper's
    duration, or tokens when the key sets pt (gpt-4o-transcribe style)."""
    body = ctx.body
    if not isinstance(body.get("file"), dict):
        msg = orjson.dumps(
            {
                "error": {
                    "message": "file is required",
                    "type": "invalid_request_error",
                    "param": "file",
                    "code": None,
                }
            }
        )
        return json_resp(ctx.rid, msg, 400)
    text = _text(ctx)
    fmt = body.get("response_format") or "json"
    if fmt in ("text", "srt", "vtt"):
        out = text if fmt == "text" else _subtitles(text, fmt == "vtt")
        return web.Response(
            text=out, headers={"Content-Type": "text/plain; charset=utf-8", "x-request-id": ctx.rid}
        )
    usage: dict[str, Any] = {"type": "duration", "seconds": TRANSCRIPT_SECONDS}
    if ctx.opts.pt is not None:
        ct = ctx.opts.ct or 0
        usage = {
            "type": "tokens",
            "input_tokens": ctx.opts.pt,
            "output_tokens": ct,
            "total_tokens": ctx.opts.pt + ct,
            "input_token_details": {"text_tokens": 0, "audio_tokens": ctx.opts.pt},
        }
    reply: dict[str, Any] = {"text": text}
    if fmt == "verbose_json":
        task = "translate" if req.path.endswith("/translations") else "transcribe"
        segment = {
            "id": 0,
            "seek": 0,
            "start": 0.0,
            "end": TRANSCRIPT_SECONDS,
            "text": text,
            "tokens": [1, 2, 3],
            "temperature": 0.0,
            "avg_logprob": -0.2,
            "compression_ratio": 1.1,
            "no_speech_prob": 0.01,
        }
        reply = {
            "task": task,
            "language": "english",
            "duration": TRANSCRIPT_SECONDS,
            "text": text,
            "segments": [segment],
        }
    if not ctx.opts.nousage:
        reply["usage"] = usage
    return json_resp(ctx.rid, orjson.dumps(reply))


async def rerank(req: web.BaseRequest, ctx: Ctx) -> web.StreamResponse:
    """Jina's shape: results by falling relevance (the earlier document scores higher),
    top_n of them, documents when return_documents; usage.total_tokens (pt, else words);
    and SiliconFlow's meta.tokens."""
    body = ctx.body
    docs = body.get("documents") if isinstance(body.get("documents"), list) else []
    query = str(body.get("query", ""))
    top_n = body.get("top_n") if isinstance(body.get("top_n"), int) else len(docs)
    results = []
    for i, doc in enumerate(docs[:top_n]):
        result: dict[str, Any] = {"index": i, "relevance_score": round(0.9 / (i + 1), 6)}
        if body.get("return_documents"):
            result["document"] = {"text": doc} if isinstance(doc, str) else doc
        results.append(result)
    words = len(query.split()) + sum(len(str(d).split()) for d in docs)
    reply: dict[str, Any] = {"model": body.get("model"), "results": results}
    if not ctx.opts.nousage:
        reply["usage"] = {"total_tokens": words if ctx.opts.pt is None else ctx.opts.pt}
        # SiliconFlow's count: the words, whatever the key says
        reply["meta"] = {"tokens": {"input_tokens": words, "output_tokens": 0}}
    return json_resp(ctx.rid, orjson.dumps(reply))


async def moderations(req: web.BaseRequest, ctx: Ctx) -> web.StreamResponse:
    """One result per input; an input containing "kill" is flagged as violence."""
    value = ctx.body.get("input")
    inputs = value if isinstance(value, list) else [value]
    results = []
    for item in inputs:
        flagged = "kill" in str(item).lower()
        results.append(
            {
                "flagged": flagged,
                "categories": {c: flagged and c == "violence" for c in _CATEGORIES},
                "category_scores": {
                    c: 0.9 if flagged and c == "violence" else 0.0001 for c in _CATEGORIES
                },
            }
        )
    reply = {"id": new_id("modr"), "model": ctx.body.get("model"), "results": results}
    return json_resp(ctx.rid, orjson.dumps(reply))


ROUTES = {
    ("POST", "/v1/images/generations"): (images, True),
    ("POST", "/v1/images/edits"): (images, True),
    ("POST", "/v1/audio/speech"): (speech, True),
    ("POST", "/v1/audio/transcriptions"): (transcription, True),
    ("POST", "/v1/audio/translations"): (transcription, True),
    ("POST", "/v1/rerank"): (rerank, True),
    ("POST", "/v1/moderations"): (moderations, True),
}
