"""OpenAI Chat stream chunks and responses as new-api re-serializes them (`force_format`).

new-api decodes them into its Go structs (dto.ChatCompletionsStreamResponse,
dto.OpenAITextResponse) and encodes those again: unknown fields are dropped, fields appear
in the struct's order, and fields without `omitempty` are written with their zero value
(null, 0 or "") when missing.
"""

from __future__ import annotations

from typing import Any

_INPUT_DETAILS = ("cached_tokens", "text_tokens", "audio_tokens", "image_tokens")
_INPUT_DETAILS_OPTIONAL = ("cached_creation_tokens", "cache_write_tokens")
_OUTPUT_DETAILS = ("text_tokens", "audio_tokens", "image_tokens", "reasoning_tokens")


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _input_details(value: Any) -> dict[str, Any]:
    src = _obj(value)
    out: dict[str, Any] = {"cached_tokens": _int(src.get("cached_tokens"))}
    for key in _INPUT_DETAILS_OPTIONAL:
        if _int(src.get(key)):
            out[key] = _int(src.get(key))
    for key in _INPUT_DETAILS[1:]:
        out[key] = _int(src.get(key))
    return out


def _usage(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    out: dict[str, Any] = {
        k: _int(value.get(k)) for k in ("prompt_tokens", "completion_tokens", "total_tokens")
    }
    if _int(value.get("prompt_cache_hit_tokens")):
        out["prompt_cache_hit_tokens"] = _int(value.get("prompt_cache_hit_tokens"))
    for key in ("usage_semantic", "usage_source"):
        if _str(value.get(key)):
            out[key] = value[key]
    if isinstance(value.get("billing_usage"), dict):
        out["billing_usage"] = value["billing_usage"]
    out["prompt_tokens_details"] = _input_details(value.get("prompt_tokens_details"))
    details = _obj(value.get("completion_tokens_details"))
    out["completion_tokens_details"] = {k: _int(details.get(k)) for k in _OUTPUT_DETAILS}
    out["input_tokens"] = _int(value.get("input_tokens"))
    out["output_tokens"] = _int(value.get("output_tokens"))
    raw_input = value.get("input_tokens_details")
    out["input_tokens_details"] = _input_details(raw_input) if isinstance(raw_input, dict) else None
    for key in ("claude_cache_creation_5_m_tokens", "claude_cache_creation_1_h_tokens"):
        out[key] = _int(value.get(key))
    if value.get("cost") is not None:
        out["cost"] = value["cost"]
    return out


def _tool_call(value: Any) -> dict[str, Any]:
    src = _obj(value)
    out: dict[str, Any] = {}
    if isinstance(src.get("index"), int):
        out["index"] = src["index"]
    if _str(src.get("id")):
        out["id"] = src["id"]
    out["type"] = src.get("type")
    fn = _obj(src.get("function"))
    function: dict[str, Any] = {}
    for key in ("description", "name"):
        if _str(fn.get(key)):
            function[key] = fn[key]
    if fn.get("parameters") is not None:
        function["parameters"] = fn["parameters"]
    function["arguments"] = _str(fn.get("arguments"))
    out["function"] = function
    return out


def _delta(value: Any) -> dict[str, Any]:
    src = _obj(value)
    out: dict[str, Any] = {}
    for key in ("content", "reasoning_content", "reasoning"):
        if isinstance(src.get(key), str):
            out[key] = src[key]
    if _str(src.get("role")):
        out["role"] = src["role"]
    calls = src.get("tool_calls")
    if isinstance(calls, list) and calls:
        out["tool_calls"] = [_tool_call(c) for c in calls]
    return out


def _choice(value: Any) -> dict[str, Any]:
    src = _obj(value)
    reason = src.get("finish_reason")
    return {
        "delta": _delta(src.get("delta")),
        "logprobs": src.get("logprobs"),
        "finish_reason": reason if isinstance(reason, str) else None,
        "index": _int(src.get("index")),
    }


def go_shaped_chunk(chunk: dict[str, Any]) -> dict[str, Any]:
    """`chunk` with exactly the fields, order and zero values of new-api's struct."""
    choices = chunk.get("choices")
    fingerprint = chunk.get("system_fingerprint")
    return {
        "id": _str(chunk.get("id")),
        "object": _str(chunk.get("object")),
        "created": _int(chunk.get("created")),
        "model": _str(chunk.get("model")),
        "system_fingerprint": fingerprint if isinstance(fingerprint, str) else None,
        "choices": [_choice(c) for c in choices] if isinstance(choices, list) else None,
        "usage": _usage(chunk.get("usage")),
    }


def _message(value: Any) -> dict[str, Any]:
    src = _obj(value)
    out: dict[str, Any] = {"role": _str(src.get("role")), "content": src.get("content")}
    if isinstance(src.get("name"), str):
        out["name"] = src["name"]
    if isinstance(src.get("prefix"), bool):
        out["prefix"] = src["prefix"]
    for key in ("reasoning_content", "reasoning"):
        if isinstance(src.get(key), str):
            out[key] = src[key]
    if "tool_calls" in src:  # raw JSON in Go: kept as it came, null included
        out["tool_calls"] = src["tool_calls"]
    if _str(src.get("tool_call_id")):
        out["tool_call_id"] = src["tool_call_id"]
    return out


def go_shaped_response(body: dict[str, Any]) -> dict[str, Any]:
    """A non-stream chat.completion with the fields, order and zero values of new-api's
    struct (usage is an embedded struct there: always written)."""
    choices = body.get("choices")
    out: dict[str, Any] = {
        "id": _str(body.get("id")),
        "model": _str(body.get("model")),
        "object": _str(body.get("object")),
        "created": body.get("created"),
        "choices": [
            {
                "index": _int(c.get("index")),
                "message": _message(c.get("message")),
                "finish_reason": _str(c.get("finish_reason")),
            }
            for c in map(_obj, choices)
        ]
        if isinstance(choices, list)
        else None,
    }
    if body.get("error") is not None:
        out["error"] = body["error"]
    out["usage"] = _usage(_obj(body.get("usage")))
    return out
