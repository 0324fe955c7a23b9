"""Chat Completions request → Responses request, for Chat clients on a Responses-only channel."""

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

_COPIED = (
    "stream",
    "temperature",
    "top_p",
    "user",
    "store",
    "metadata",
    "parallel_tool_calls",
    "enable_thinking",
    "thinking_budget",
)


def chat_to_responses_request(payload: Any) -> dict[str, Any]:
    """A `POST /v1/chat/completions` body → the equivalent `POST /v1/responses` body."""
    req = obj(payload, "request")
    model = req.get("model")
    if not isinstance(model, str) or not model:
        raise ResponsesConversionError("model is required")
    n = req.get("n")
    if isinstance(n, int) and n > 1:
        raise ResponsesConversionError("n>1 is not supported when the channel speaks Responses")

    instructions: list[str] = []
    items: list[dict[str, Any]] = []
    for i, raw in enumerate(opt_list(req.get("messages"), "messages")):
        _add_message(obj(raw, f"messages[{i}]"), f"messages[{i}]", instructions, items)

    out: dict[str, Any] = {"model": model, "input": items}
    if instructions:
        out["instructions"] = "\n\n".join(instructions)
    for key in _COPIED:
        if req.get(key) is not None:
            out[key] = req[key]
    limits = [req[k] for k in ("max_tokens", "max_completion_tokens") if req.get(k) is not None]
    if limits:
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in limits):
            raise ResponsesConversionError("max_tokens must be an integer")
        out["max_output_tokens"] = max(limits)
    effort = req.get("reasoning_effort")
    if isinstance(effort, str) and effort:
        out["reasoning"] = {"effort": effort, "summary": "detailed"}
    if req.get("tools") is not None:
        out["tools"] = [_tool(t) for t in opt_list(req["tools"], "tools")]
    if req.get("tool_choice") is not None:
        out["tool_choice"] = _tool_choice(req["tool_choice"])
    text: dict[str, Any] = {}
    fmt = _text_format(req.get("response_format"))
    if fmt is not None:
        text["format"] = fmt
    if isinstance(req.get("verbosity"), str):
        text["verbosity"] = req["verbosity"]
    if text:
        out["text"] = text
    return out


def _add_message(
    msg: dict[str, Any], where: str, instructions: list[str], items: list[dict[str, Any]]
) -> None:
    role = opt_str(msg.get("role"), f"{where}.role").strip()
    content = msg.get("content")
    if not role:
        return
    if role in ("tool", "function"):
        output = _tool_output(content)
        call_id = opt_str(msg.get("tool_call_id"), f"{where}.tool_call_id").strip()
        if call_id:
            items.append({"type": "function_call_output", "call_id": call_id, "output": output})
        else:
            # new-api keeps an orphan tool result as user text rather than dropping it.
            items.append({"role": "user", "content": f"[tool_output_missing_call_id] {output}"})
        return
    if role in ("system", "developer"):
        text = _system_text(content, where)
        if text:
            instructions.append(text)
        return
    if content is None:
        items.append({"role": role, "content": ""})
    elif isinstance(content, str):
        items.append({"role": role, "content": content})
    elif isinstance(content, list):
        parts = [_part(obj(p, f"{where}.content[{n}]"), role) for n, p in enumerate(content)]
        items.append({"role": role, "content": parts})
    else:
        raise ResponsesConversionError(f"{where}.content must be a string or an array of parts")
    if role == "assistant":
        for n, call in enumerate(opt_list(msg.get("tool_calls"), f"{where}.tool_calls")):
            item = _call_item(obj(call, f"{where}.tool_calls[{n}]"), f"{where}.tool_calls[{n}]")
            if item is not None:
                items.append(item)


def _tool_output(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
        for p in content
    ):
        return "".join(p["text"] for p in content)
    return json_text(content)


def _system_text(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content.strip()
    if not isinstance(content, list):
        raise ResponsesConversionError(f"{where}.content must be a string or an array of parts")
    texts = [
        p["text"]
        for p in content
        if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
    ]
    return "\n".join(t for t in texts if t.strip()).strip()


def _part(part: dict[str, Any], role: str) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "text":
        text_type = "output_text" if role == "assistant" else "input_text"
        return {"type": text_type, "text": opt_str(part.get("text"), "content[].text")}
    if kind == "image_url":
        raw = part.get("image_url")
        image: dict[str, Any] = {"type": "input_image"}
        if isinstance(raw, dict):
            image["image_url"] = opt_str(raw.get("url"), "image_url.url")
            if isinstance(raw.get("detail"), str):
                image["detail"] = raw["detail"]
        else:
            image["image_url"] = opt_str(raw, "image_url")
        return image
    if kind == "input_audio":
        return {
            "type": "input_audio",
            "input_audio": opt_obj(part.get("input_audio"), "input_audio"),
        }
    if kind == "file":
        file = opt_obj(part.get("file"), "file")
        keys = ("file_id", "file_data", "filename", "file_url")
        return {"type": "input_file", **{k: file[k] for k in keys if k in file}}
    if kind == "refusal":
        return {"type": "refusal", "refusal": opt_str(part.get("refusal"), "content[].refusal")}
    raise ResponsesConversionError(f"content part type {kind!r} is not supported")


def _call_item(call: dict[str, Any], where: str) -> dict[str, Any] | None:
    """An assistant tool call → a function_call item; calls without id or name are skipped."""
    call_id = opt_str(call.get("id"), f"{where}.id").strip()
    kind = call.get("type") or "function"
    if not call_id:
        return None
    if kind == "custom":
        custom = opt_obj(call.get("custom"), f"{where}.custom")
        return {
            "type": "custom_tool_call",
            "call_id": call_id,
            "name": opt_str(custom.get("name"), f"{where}.custom.name"),
            "input": json_text(custom.get("input")),
        }
    if kind != "function":
        return None
    fn = opt_obj(call.get("function"), f"{where}.function")
    name = opt_str(fn.get("name"), f"{where}.function.name").strip()
    if not name:
        return None
    return {
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": json_text(fn.get("arguments")),
    }


def _tool(raw: Any) -> dict[str, Any]:
    tool = obj(raw, "tools[]")
    kind = tool.get("type")
    if kind == "function":
        fn = opt_obj(tool.get("function"), "tools[].function")
        out: dict[str, Any] = {"type": "function", "name": fn.get("name")}
        for key in ("description", "parameters", "strict"):
            if fn.get(key) is not None:
                out[key] = fn[key]
        return out
    if kind == "custom":
        return {"type": "custom", **opt_obj(tool.get("custom"), "tools[].custom")}
    # Anything else (web_search…) is passed on as it is, as new-api does.
    return tool


def _tool_choice(raw: Any) -> Any:
    if isinstance(raw, str):
        return raw
    choice = obj(raw, "tool_choice")
    kind = choice.get("type")
    if kind in ("function", "custom"):
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            name = opt_obj(choice.get(kind), f"tool_choice.{kind}").get("name")
        if isinstance(name, str) and name:
            return {"type": kind, "name": name}
    return choice


def _text_format(raw: Any) -> dict[str, Any] | None:
    """Chat `response_format` → Responses `text.format` (json_schema is flattened one level)."""
    if raw is None:
        return None
    fmt = obj(raw, "response_format")
    kind = opt_str(fmt.get("type"), "response_format.type").strip()
    if not kind:
        return None
    if kind != "json_schema":
        return {"type": kind}
    out: dict[str, Any] = {"type": "json_schema"}
    out.update(opt_obj(fmt.get("json_schema"), "response_format.json_schema"))
    out["type"] = "json_schema"
    return out
