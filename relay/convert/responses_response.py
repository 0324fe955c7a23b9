"""Non-stream responses: Chat completion ⇄ Responses `response` object."""

from __future__ import annotations

from typing import Any

from relay.convert.responses_common import (
    ResponsesConversionError,
    chat_usage_to_responses,
    finish_of_status,
    join_summaries,
    json_text,
    obj,
    opt_list,
    opt_obj,
    opt_str,
    responses_usage_to_chat,
    status_of_finish,
)

# Request fields a Response object echoes back, with what OpenAI reports when they were not set.
_ECHOED: dict[str, Any] = {
    "instructions": None,
    "max_output_tokens": None,
    "metadata": {},
    "parallel_tool_calls": True,
    "temperature": None,
    "tool_choice": "auto",
    "tools": [],
    "top_p": None,
    "user": None,
}


def response_object(
    response_id: str,
    created_at: int,
    model: str,
    status: str,
    request: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Responses `response` with no output yet; request fields are echoed from `request`."""
    out: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "model": model,
        "output": [],
        "previous_response_id": None,
        "reasoning": None,
        # Nothing is stored: the channel speaks Chat, so the response cannot be retrieved later.
        "store": False,
        "truncation": "disabled",
        "usage": None,
    }
    req = request or {}
    for key, default in _ECHOED.items():
        value = req.get(key)
        out[key] = default if value is None else value
    if isinstance(req.get("reasoning"), dict):
        out["reasoning"] = req["reasoning"]
    if isinstance(req.get("text"), dict):
        out["text"] = req["text"]
    return out


def message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id,
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def refusal_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id,
        "status": status,
        "role": "assistant",
        "content": [{"type": "refusal", "refusal": text}],
    }


def reasoning_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {
        "type": "reasoning",
        "id": item_id,
        "status": status,
        "summary": [{"type": "summary_text", "text": text}],
    }


def function_call_item(call_id: str, name: str, arguments: str, status: str) -> dict[str, Any]:
    # new-api uses the call id as the item id too; clients key on call_id either way.
    return {
        "type": "function_call",
        "id": call_id,
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def chat_to_responses_response(
    payload: Any, response_id: str | None = None, request: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A Chat completion → a Responses `response` (reasoning, message, function calls, usage)."""
    chat = obj(payload, "response")
    rid = response_id or opt_str(chat.get("id"), "id")
    created = chat.get("created")
    out = response_object(
        rid,
        created if isinstance(created, int) else 0,
        opt_str(chat.get("model"), "model"),
        "completed",
        request,
    )
    out["usage"] = chat_usage_to_responses(chat.get("usage"))
    choices = opt_list(chat.get("choices"), "choices")
    if not choices:
        return out
    choice = obj(choices[0], "choices[0]")
    status, details = status_of_finish(choice.get("finish_reason"))
    out["status"], out["incomplete_details"] = status, details
    message = opt_obj(choice.get("message"), "choices[0].message")
    output: list[dict[str, Any]] = out["output"]
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        output.append(reasoning_item(f"{rid}_reasoning_0", reasoning, status))
    text = _content_text(message.get("content"))
    if text:
        output.append(message_item(f"{rid}_msg_0", text, status))
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        output.append(refusal_item(f"{rid}_refusal_0", refusal, status))
    calls = opt_list(message.get("tool_calls"), "choices[0].message.tool_calls")
    for n, raw in enumerate(calls):
        call = obj(raw, f"tool_calls[{n}]")
        fn = opt_obj(call.get("function"), f"tool_calls[{n}].function")
        call_id = opt_str(call.get("id"), f"tool_calls[{n}].id").strip() or f"{rid}_call_{n}"
        name = opt_str(fn.get("name"), f"tool_calls[{n}].function.name")
        output.append(function_call_item(call_id, name, json_text(fn.get("arguments")), status))
    return out


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p["text"]
            for p in content
            if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
        )
    raise ResponsesConversionError("choices[0].message.content must be a string")


# --- Responses → Chat ---------------------------------------------------------------------------


def responses_to_chat_response(payload: Any, chat_id: str | None = None) -> dict[str, Any]:
    """A Responses `response` → a Chat completion (text, reasoning_content, tool_calls, usage)."""
    resp = obj(payload, "response")
    output = [obj(o, f"output[{n}]") for n, o in enumerate(opt_list(resp.get("output"), "output"))]
    message: dict[str, Any] = {"role": "assistant", "content": output_text(output)}
    reasoning = reasoning_text(output)
    if reasoning:
        message["reasoning_content"] = reasoning
    calls = [c for c in (tool_call_of(o) for o in output) if c is not None]
    if calls:
        message["tool_calls"] = calls
    finish = finish_of_status(resp.get("status"), resp.get("incomplete_details"))
    if finish is None:
        finish = "tool_calls" if calls else "stop"
    created = resp.get("created_at")
    out: dict[str, Any] = {
        "id": chat_id or opt_str(resp.get("id"), "id"),
        "object": "chat.completion",
        "created": int(created) if isinstance(created, int | float) else 0,
        "model": opt_str(resp.get("model"), "model"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    }
    usage = responses_usage_to_chat(resp.get("usage"))
    if usage is not None:
        out["usage"] = usage
    return out


def output_text(output: list[dict[str, Any]]) -> str:
    """The assistant text of an output list; falls back to any text, as new-api does."""
    texts = [
        c.get("text")
        for o in output
        if o.get("type") == "message" and o.get("role") in (None, "", "assistant")
        for c in opt_list(o.get("content"), "output[].content")
        if isinstance(c, dict) and c.get("type") == "output_text"
    ]
    text = "".join(t for t in texts if isinstance(t, str))
    if text:
        return text
    return "".join(
        c["text"]
        for o in output
        if o.get("type") != "reasoning"
        for c in opt_list(o.get("content"), "output[].content")
        if isinstance(c, dict) and isinstance(c.get("text"), str)
    )


def reasoning_text(output: list[dict[str, Any]]) -> str:
    """Reasoning summaries (OpenAI's `summary`), else reasoning `content` text, joined."""
    texts: list[str] = []
    for o in output:
        if o.get("type") != "reasoning":
            continue
        parts = opt_list(o.get("summary"), "reasoning.summary") or opt_list(
            o.get("content"), "reasoning.content"
        )
        texts.extend(
            p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return join_summaries(texts)


def tool_call_of(item: dict[str, Any]) -> dict[str, Any] | None:
    """A function_call / custom_tool_call output item → a Chat tool call; None for other items."""
    kind = item.get("type")
    if kind not in ("function_call", "custom_tool_call"):
        return None
    name = opt_str(item.get("name"), "output[].name").strip()
    if not name:
        return None
    call_id = opt_str(item.get("call_id"), "output[].call_id").strip()
    call_id = call_id or opt_str(item.get("id"), "output[].id").strip()
    args = item.get("arguments") if kind == "function_call" else item.get("input")
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json_text(args)},
    }
