"""Embeddings both ways: OpenAI /v1/embeddings ⇄ Gemini embedContent / batchEmbedContents."""

from __future__ import annotations

import base64
import binascii
import sys
from array import array
from typing import Any

from relay.convert.gemini_common import (
    GeminiConversionError,
    count,
    obj,
    opt_list,
    opt_num,
    opt_obj,
    opt_str,
)

# Only the models released after 2024 accept outputDimensionality.
_DIMENSION_MODELS = frozenset(
    {"text-embedding-004", "gemini-embedding-exp-03-07", "gemini-embedding-001"}
)


def encode_base64(values: list[Any], where: str) -> str:
    """OpenAI's `encoding_format: base64`: the vector as little-endian float32 bytes."""
    try:
        floats = array("f", values)
    except TypeError:
        raise GeminiConversionError(f"{where} must be an array of numbers") from None
    if sys.byteorder == "big":
        floats.byteswap()
    return base64.b64encode(floats.tobytes()).decode()


def decode_base64(data: str, where: str) -> list[float]:
    """A base64 float32 vector (an OpenAI upstream answering in base64) as a list of floats."""
    try:
        raw = base64.b64decode(data, validate=True)
    except binascii.Error:
        raise GeminiConversionError(f"{where} is not valid base64") from None
    if len(raw) % 4:
        raise GeminiConversionError(f"{where} is not a float32 vector")
    floats = array("f", raw)
    if sys.byteorder == "big":
        floats.byteswap()
    return floats.tolist()


def _inputs(payload: dict[str, Any]) -> list[str]:
    raw = payload.get("input")
    if raw is None:
        raise GeminiConversionError("input is required")
    if isinstance(raw, str):
        inputs = [raw]
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        inputs = raw
    else:
        raise GeminiConversionError("input must be a string or an array of strings")
    if not inputs:
        raise GeminiConversionError("input is empty")
    return inputs


def openai_to_gemini_embeddings(payload: dict[str, Any], *, model: str) -> dict[str, Any]:
    """An OpenAI embeddings request as a `batchEmbedContents` body (always the batch call)."""
    payload = obj(payload, "request body")
    dimensions = opt_num(payload.get("dimensions"), "dimensions")
    requests = []
    for text in _inputs(payload):
        request: dict[str, Any] = {
            "model": f"models/{model}",
            "content": {"parts": [{"text": text}]},
        }
        if dimensions and dimensions > 0 and model in _DIMENSION_MODELS:
            request["outputDimensionality"] = int(dimensions)
        requests.append(request)
    return {"requests": requests}


def _embedding_usage(prompt_tokens: int) -> dict[str, int]:
    # Gemini reports no usage for embeddings; new-api bills the local prompt estimate.
    return {"prompt_tokens": prompt_tokens, "completion_tokens": 0, "total_tokens": prompt_tokens}


def gemini_to_openai_embeddings(
    body: dict[str, Any], *, model: str, prompt_tokens: int, encoding_format: str | None = None
) -> dict[str, Any]:
    """A `batchEmbedContents` (or single `embedContent`) response as an OpenAI embeddings list.

    `encoding_format` is the client's: `base64` gets each vector as base64 float32.
    """
    body = obj(body, "response")
    if "embedding" in body:
        embeddings = [body["embedding"]]
    else:
        embeddings = opt_list(body.get("embeddings"), "embeddings")
    data = []
    for i, embedding in enumerate(embeddings):
        where = f"embeddings[{i}].values"
        values: Any = opt_list(obj(embedding, f"embeddings[{i}]").get("values"), where)
        if encoding_format == "base64":
            values = encode_base64(values, where)
        data.append({"object": "embedding", "index": i, "embedding": values})
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": _embedding_usage(prompt_tokens),
    }


def _request_text(request: dict[str, Any], where: str) -> str:
    content = opt_obj(request.get("content"), f"{where}.content")
    texts = []
    for i, part in enumerate(opt_list(content.get("parts"), f"{where}.content.parts")):
        text = opt_str(obj(part, f"{where}.content.parts[{i}]").get("text"), f"{where}.text")
        if text:
            texts.append(text)
    return "\n".join(texts)


def gemini_to_openai_embeddings_request(
    payload: dict[str, Any], *, model: str, batch: bool
) -> dict[str, Any]:
    """An `embedContent` (batch=False) or `batchEmbedContents` body as an OpenAI request."""
    payload = obj(payload, "request body")
    if batch:
        requests = [
            obj(r, f"requests[{i}]")
            for i, r in enumerate(opt_list(payload.get("requests"), "requests"))
        ]
        if not requests:
            raise GeminiConversionError("requests is empty")
        inputs: str | list[str] = [
            _request_text(r, f"requests[{i}]") for i, r in enumerate(requests)
        ]
    else:
        requests = [payload]
        inputs = _request_text(payload, "request")
    out: dict[str, Any] = {"model": model, "input": inputs}
    dimensions = {
        count(r.get("outputDimensionality")) for r in requests if r.get("outputDimensionality")
    }
    if len(dimensions) == 1:
        out["dimensions"] = dimensions.pop()
    elif len(dimensions) > 1:
        raise GeminiConversionError("outputDimensionality must be the same for every request")
    return out


def openai_to_gemini_embeddings_response(body: dict[str, Any], *, batch: bool) -> dict[str, Any]:
    """An OpenAI embeddings list as an `embedContent` or `batchEmbedContents` response."""
    body = obj(body, "response")
    items = [obj(item, f"data[{i}]") for i, item in enumerate(opt_list(body.get("data"), "data"))]
    items.sort(key=lambda item: count(item.get("index")))
    embeddings = []
    for i, item in enumerate(items):
        vector = item.get("embedding")
        if isinstance(vector, str):
            embeddings.append({"values": decode_base64(vector, f"data[{i}].embedding")})
        else:
            embeddings.append({"values": opt_list(vector, f"data[{i}].embedding")})
    if batch:
        return {"embeddings": embeddings}
    if not embeddings:
        raise GeminiConversionError("the upstream returned no embedding")
    return {"embedding": embeddings[0]}
