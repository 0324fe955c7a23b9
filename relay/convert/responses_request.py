"""Responses API request → Chat Completions request, as new-api's relayconvert does it."""

from __future__ import annotations

from typing import Any

from relay.convert.responses_common import (
    ResponsesConversionError,
    json_text,
    obj,
    opt_list,
    opt_obj,
    opt_str,
)

# Fields that need state held by the Responses API itself; a Chat channel cannot honour them.
_STATEFUL = ("conversation", "previous_response_id", "prompt", "context_management")

# Copied unchanged when present (new-api passes them to the Chat upstream as they are).
_COPIED = (
    "stream",
    "stream_options",
    "temperature",
    "top_p",
    "user",
    "store",
    "metadata",
    "safety_identifier",
    "prompt_cache_retention",
    "service_tier",
    "enable_thinking",
    "thinking_budget",
)

_TEXT_PARTS = ("input_text", "output_text", "text")


def responses_to_chat_request(payload: Any) -> dict[str, Any]:
    """A Responses `POST /v1/responses` body → the equivalent `POST /v1/chat/completions` body."""
    req = obj(payload, "request")
    model = req.get("model")
    if not isinstance(model, str) or not model:
        raise ResponsesConversionError("model is required")
    stateful = [f for f in _STATEFUL if req.get(f) not in (None, "")]
    if stateful:
        raise ResponsesConversionError(
            "stateful Responses fields are not supported on this channel: " + ", ".join(stateful)
        )

    out: dict[str, Any] = {"model": model, "messages": _messages(req)}
    for key in _COPIED:
        if req.get(key) is not None:
            out[key] = req[key]
    if req.get("max_output_tokens") is not None:
        out["max_completion_tokens"] = req["max_output_tokens"]
    if req.get("top_logprobs") is not None:
        # Chat refuses top_logprobs unless logprobs is on; Responses has no such switch.
        out["logprobs"] = True
        out["top_logprobs"] = req["top_logprobs"]
    if isinstance(req.get("parallel_tool_calls"), bool):
        out["parallel_tool_calls"] = req["parallel_tool_calls"]
    if isinstance(req.get("prompt_cache_key"), str):
        out["prompt_cache_key"] = req["prompt_cache_key"]
    effort = opt_obj(req.get("reasoning"), "reasoning").get("effort")
    if isinstance(effort, str) and effort:
        out["reasoning_effort"] = effort
    tools = [_tool(t) for t in opt_list(req.get("tools"), "tools")]
    if tools:
        out["tools"] = tools
    if req.get("tool_choice") is not None:
        out["tool_choice"] = _tool_choice(req["tool_choice"])
    text = opt_obj(req.get("text"), "text")
    response_format = _response_format(text.get("format"))
    if response_format is not None:
        out["response_format"] = response_format
    if isinstance(text.get("verbosity"), str):
        out["verbosity"] = text["verbosity"]
    return out


def _messages(req: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    instructions = opt_str(req.get("instructions"), "instructions")
    if instructions.strip():
        messages.append({"role": "system", "content": instructions})
    raw = req.get("input")
    if raw is None:
        return messages
    if isinstance(raw, str):
        messages.append({"role": "user", "content": raw})
        return messages
    if not isinstance(raw, list):
        raise ResponsesConversionError("input must be a string or an array of items")
    for n, item in enumerate(raw):
        _add_item(obj(item, f"input[{n}]"), messages, f"input[{n}]")
    return messages


def _add_item(item: dict[str, Any], messages: list[dict[str, Any]], where: str) -> None:
    kind = opt_str(item.get("type"), f"{where}.type")
    if kind == "function_call":
        name = opt_str(item.get("name"), f"{where}.name").strip()
        if not name:
            raise ResponsesConversionError(f"{where}: function_call item is missing name")
        call = {
            "id": _call_id(item, where),
            "type": "function",
            "function": {"name": name, "arguments": json_text(item.get("arguments"))},
        }
        _append_tool_call(messages, call)
    elif kind == "custom_tool_call":
        call = {
            "id": _call_id(item, where),
            "type": "custom",
            "custom": {
                "name": opt_str(item.get("name"), f"{where}.name").strip(),
                "input": json_text(item.get("input")),
            },
        }
        _append_tool_call(messages, call)
    elif kind in ("function_call_output", "custom_tool_call_output"):
        messages.append(
            {
                "role": "tool",
                "tool_call_id": opt_str(item.get("call_id"), f"{where}.call_id").strip(),
                "content": _tool_output(item.get("output")),
            }
        )
    elif kind == "reasoning":
        # A reasoning item echoed back from an earlier turn: Chat has no place for it, and the
        # model reasons afresh, so it is dropped rather than sent as a stray message.
        return
    elif kind in ("", "message"):
        role = opt_str(item.get("role"), f"{where}.role").strip() or "user"
        messages.append({"role": role, "content": _content(item.get("content"), where)})
    elif kind == "item_reference":
        raise ResponsesConversionError(f"{where}: item_reference needs stored responses")
    else:
        raise ResponsesConversionError(f"{where}: input item type {kind!r} is not supported")


def _call_id(item: dict[str, Any], where: str) -> str:
    call_id = opt_str(item.get("call_id"), f"{where}.call_id").strip()
    return call_id or opt_str(item.get("id"), f"{where}.id").strip()


def _append_tool_call(messages: list[dict[str, Any]], call: dict[str, Any]) -> None:
    """Calls join the assistant message just before them, else open a new one (content null)."""
    if not messages or messages[-1]["role"] != "assistant":
        messages.append({"role": "assistant", "content": None})
    messages[-1].setdefault("tool_calls", []).append(call)


def _tool_output(output: Any) -> str:
    """Tool output as Chat text: text-only part lists are joined, anything else is JSON."""
    if isinstance(output, list):
        texts = [
            p.get("text") for p in output if isinstance(p, dict) and p.get("type") in _TEXT_PARTS
        ]
        if len(texts) == len(output) and all(isinstance(t, str) for t in texts):
            return "".join(t for t in texts if isinstance(t, str))
    return json_text(output)


def _content(content: Any, where: str) -> str | list[dict[str, Any]]:
    """Message content: a string stays a string, text-only parts join into one string."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ResponsesConversionError(f"{where}.content must be a string or an array of parts")
    parts = [
        _part(obj(p, f"{where}.content[{n}]"), f"{where}.content[{n}]")
        for n, p in enumerate(content)
    ]
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _part(part: dict[str, Any], where: str) -> dict[str, Any]:
    kind = part.get("type")
    if kind in _TEXT_PARTS:
        return {"type": "text", "text": opt_str(part.get("text"), f"{where}.text")}
    if kind == "refusal":
        return {"type": "text", "text": opt_str(part.get("refusal"), f"{where}.refusal")}
    if kind == "input_image":
        return {"type": "image_url", "image_url": _image_url(part, where)}
    if kind == "input_file":
        if isinstance(part.get("file"), dict):
            return {"type": "file", "file": part["file"]}
        keys = ("file_id", "file_data", "filename", "file_url")
        return {"type": "file", "file": {k: part[k] for k in keys if k in part}}
    if kind == "input_audio":
        return {"type": "input_audio", "input_audio": opt_obj(part.get("input_audio"), where)}
    raise ResponsesConversionError(f"{where}: content part type {kind!r} is not supported")


def _image_url(part: dict[str, Any], where: str) -> dict[str, Any]:
    """Chat wants `image_url` as an object; Responses gives a URL string (or a file id)."""
    raw = part.get("image_url")
    if isinstance(raw, dict):
        return raw
    image: dict[str, Any] = {}
    url = opt_str(raw, f"{where}.image_url")
    if url:
        image["url"] = url
    elif isinstance(part.get("file_id"), str):
        image["file_id"] = part["file_id"]
    else:
        raise ResponsesConversionError(f"{where}: input_image needs image_url or file_id")
    if isinstance(part.get("detail"), str):
        image["detail"] = part["detail"]
    return image


def _tool(raw: Any) -> dict[str, Any]:
    tool = obj(raw, "tools[]")
    kind = tool.get("type")
    if kind == "function":
        fn: dict[str, Any] = {"name": opt_str(tool.get("name"), "tools[].name").strip()}
        if tool.get("description") is not None:
            fn["description"] = opt_str(tool["description"], "tools[].description")
        if tool.get("parameters") is not None:
            fn["parameters"] = tool["parameters"]
        if isinstance(tool.get("strict"), bool):
            fn["strict"] = tool["strict"]
        return {"type": "function", "function": fn}
    if kind == "custom":
        custom = {k: tool[k] for k in ("name", "description", "format") if k in tool}
        return {"type": "custom", "custom": custom}
    raise ResponsesConversionError(f"tool type {kind!r} is not supported on a Chat channel")


def _tool_choice(raw: Any) -> Any:
    if isinstance(raw, str):
        return raw
    choice = obj(raw, "tool_choice")
    name = choice.get("name")
    if choice.get("type") == "function" and isinstance(name, str) and name.strip():
        return {"type": "function", "function": {"name": name.strip()}}
    if choice.get("type") == "custom" and isinstance(name, str) and name.strip():
        return {"type": "custom", "custom": {"name": name.strip()}}
    return choice


def _response_format(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    fmt = obj(raw, "text.format")
    kind = opt_str(fmt.get("type"), "text.format.type").strip()
    if not kind:
        return None
    if kind != "json_schema":
        return {"type": kind}
    schema = {k: v for k, v in fmt.items() if k != "type"}
    return {"type": "json_schema", "json_schema": schema}
