"""Request conversions between Claude Messages and OpenAI Chat (new-api's relayconvert rules).

Pure functions over parsed JSON: no I/O, no logging. Images must arrive as data URLs (they
become base64 blocks): the pipeline fetches remote ones first (relay.pipeline.media).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

DEFAULT_MAX_TOKENS = 8192
THINKING_SUFFIX = "-thinking"
THINKING_MIN_MAX_TOKENS = 1280
EFFORT_BUDGETS = {"low": 1280, "medium": 2048, "high": 4096}
EFFORT_SUFFIXES = ("-max", "-xhigh", "-high", "-medium", "-low", "-minimal")
_ADAPTIVE_EFFORT_MODELS = ("claude-opus-4-6", "claude-opus-4-7", "claude-opus-4-8")
_ADAPTIVE_ONLY_MODELS = ("claude-opus-4-7", "claude-opus-4-8")
_WEB_SEARCH_MAX_USES = {"low": 1, "medium": 5, "high": 10}


def _obj(value: Any) -> dict[str, Any]:
    """The value if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    """The value if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


class ConversionError(ValueError):
    """The request cannot be expressed in the target format (answered as a 400)."""


def _default_max_tokens() -> Mapping[str, int]:
    return {"default": DEFAULT_MAX_TOKENS}


@dataclass(frozen=True, slots=True)
class ClaudeOptions:
    """new-api's `claude.*` settings that shape requests to Claude (their defaults).

    `default_max_tokens` maps model names (and "default") to the max_tokens of a request that
    names none; `model_headers` maps a requested model to headers added upstream."""

    default_max_tokens: Mapping[str, int] = field(default_factory=_default_max_tokens)
    thinking_adapter_enabled: bool = True
    thinking_budget_percentage: float = 0.8
    model_headers: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    def max_tokens_for(self, model: str) -> int:
        """GetDefaultMaxTokens: the model's entry, else "default" (8192 when that is missing)."""
        value = self.default_max_tokens.get(model)
        if value is None:
            value = self.default_max_tokens.get("default", DEFAULT_MAX_TOKENS)
        return value


# --- Claude → OpenAI Chat ----------------------------------------------------------------------


def _tool_name_for(messages: list[Any], tool_use_id: str) -> str:
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict) and block.get("id") == tool_use_id:
                return str(block.get("name") or "")
    return ""


def _system_text(system: Any) -> str:
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        return "".join(
            str(b.get("text") or "") for b in system if isinstance(b, dict) and "text" in b
        )
    return ""


def _claude_message_to_openai(
    message: dict[str, Any], all_messages: list[Any], out: list[dict[str, Any]]
) -> None:
    role = message.get("role")
    content = message.get("content")
    if isinstance(content, str):
        out.append({"role": role, "content": content})
        return
    parts: list[dict[str, Any]] = []
    tool_calls: list[dict[str, Any]] = []
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind in ("text", "input_text"):
            part: dict[str, Any] = {"type": "text", "text": str(block.get("text") or "")}
            if "cache_control" in block:
                part["cache_control"] = block["cache_control"]
            parts.append(part)
        elif kind == "image":
            source = _obj(block.get("source"))
            if source.get("type") == "url":
                url = str(source.get("url") or "")
            else:
                url = f"data:{source.get('media_type', '')};base64,{source.get('data', '')}"
            parts.append({"type": "image_url", "image_url": {"url": url}})
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") if "input" in block else {}).decode()
            tool_calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {"name": block.get("name", ""), "arguments": arguments},
                }
            )
        elif kind == "tool_result":
            tool_use_id = str(block.get("tool_use_id") or "")
            name = block.get("name") or _tool_name_for(all_messages, tool_use_id)
            result = block.get("content")
            text = result if isinstance(result, str) else orjson.dumps(result or []).decode()
            out.append({"role": "tool", "content": text, "name": name, "tool_call_id": tool_use_id})
    if tool_calls:
        out.append({"role": role, "content": None, "tool_calls": tool_calls})
    elif parts:
        out.append({"role": role, "content": parts})


def claude_to_openai_request(payload: dict[str, Any]) -> dict[str, Any]:
    """A Claude Messages request as an OpenAI Chat request (thinking and tool_choice dropped)."""
    out: dict[str, Any] = {"model": payload.get("model")}
    messages: list[dict[str, Any]] = []
    system = _system_text(payload.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    claude_messages = payload.get("messages")
    claude_messages = claude_messages if isinstance(claude_messages, list) else []
    for message in claude_messages:
        if isinstance(message, dict):
            _claude_message_to_openai(message, claude_messages, messages)
    out["messages"] = messages
    for key in ("temperature", "top_p", "top_k", "max_tokens"):
        if payload.get(key) is not None:
            out[key] = payload[key]
    if payload.get("stream") is not None:
        out["stream"] = payload["stream"]
    stops = payload.get("stop_sequences")
    if isinstance(stops, list) and stops:
        out["stop"] = stops[0] if len(stops) == 1 else stops
    tools = [
        {
            "type": "function",
            "function": {
                "name": tool.get("name", ""),
                "description": tool.get("description", ""),
                "parameters": tool["input_schema"],
            },
        }
        for tool in _list(payload.get("tools"))
        if isinstance(tool, dict) and isinstance(tool.get("input_schema"), dict)
    ]
    if tools:
        out["tools"] = tools
    return out


# --- OpenAI Chat → Claude ----------------------------------------------------------------------


def _is_text(content: Any) -> bool:
    return isinstance(content, str)


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [p for p in content if isinstance(p, dict)]
    return []


def _image_block(part: dict[str, Any]) -> dict[str, Any]:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url.startswith("data:") or ";base64," not in url:
        raise ConversionError(
            "only data: URLs (base64) are accepted for images sent to Claude channels"
        )
    head, data = url[5:].split(";base64,", 1)
    kind = "document" if head.startswith("application/pdf") else "image"
    return {"type": kind, "source": {"type": "base64", "media_type": head, "data": data}}


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    mapped: dict[str, Any] | None = None
    if isinstance(choice, str):
        kind = {"auto": "auto", "required": "any", "none": "none"}.get(choice)
        mapped = {"type": kind} if kind else None
    elif isinstance(choice, dict):
        function = choice.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            mapped = {"type": "tool", "name": function["name"]}
    if isinstance(parallel, bool):
        mapped = mapped or {"type": "auto"}
        if mapped["type"] != "none":
            mapped["disable_parallel_tool_use"] = not parallel
    return mapped


def _claude_tools(payload: dict[str, Any]) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    for tool in _list(payload.get("tools")):
        function = tool.get("function") if isinstance(tool, dict) else None
        params = function.get("parameters") if isinstance(function, dict) else None
        if not isinstance(function, dict) or not isinstance(params, dict):
            continue
        schema = {k: v for k, v in params.items() if v is not None}
        tools.append(
            {
                "name": function.get("name", ""),
                "description": function.get("description", ""),
                "input_schema": schema,
            }
        )
    search = payload.get("web_search_options")
    if isinstance(search, dict):
        web: dict[str, Any] = {"type": "web_search_20250305", "name": "web_search"}
        location = search.get("user_location")
        approx = location.get("approximate") if isinstance(location, dict) else None
        if isinstance(location, dict):
            web["user_location"] = {"type": "approximate"}
            if isinstance(approx, dict):
                for key in ("timezone", "country", "region", "city"):
                    if isinstance(approx.get(key), str) and approx[key]:
                        web["user_location"][key] = approx[key]
        uses = _WEB_SEARCH_MAX_USES.get(str(search.get("search_context_size")))
        if uses:
            web["max_uses"] = uses
        tools.append(web)
    return tools


def _merged_messages(messages: list[Any]) -> list[dict[str, Any]]:
    """new-api's first pass: default roles, adjacent same-role strings merged, "..." for empty."""
    merged: list[dict[str, Any]] = []
    last_role = "tool"
    for raw in messages:
        if not isinstance(raw, dict):
            continue
        msg: dict[str, Any] = {"role": raw.get("role") or "user", "content": raw.get("content")}
        if msg["role"] == "tool":
            msg["tool_call_id"] = raw.get("tool_call_id", "")
        if msg["role"] == "assistant" and raw.get("tool_calls") is not None:
            msg["tool_calls"] = raw["tool_calls"]
        if merged and last_role == msg["role"] and last_role != "tool":
            previous = merged[-1]
            if _is_text(previous["content"]) and _is_text(msg["content"]):
                msg["content"] = f"{previous['content']} {msg['content']}".strip('"')
                merged.pop()
        if msg["content"] is None or msg["content"] == "":
            msg["content"] = "..."
        merged.append(msg)
        last_role = msg["role"]
    return merged


def _assistant_or_user_content(msg: dict[str, Any]) -> str | list[dict[str, Any]]:
    if _is_text(msg["content"]) and msg.get("tool_calls") is None:
        return str(msg["content"]) or "..."
    blocks: list[dict[str, Any]] = []
    for part in _parts(msg["content"]):
        if part.get("type") == "text":
            if part.get("text"):
                blocks.append({"type": "text", "text": part["text"]})
        elif part.get("type") in ("image_url", "input_image"):
            blocks.append(_image_block(part))
    for call in _list(msg.get("tool_calls")):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            continue
        try:
            args = orjson.loads(function.get("arguments") or "{}")
        except orjson.JSONDecodeError:
            args = {}
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id", ""),
                "name": function.get("name", ""),
                "input": args if isinstance(args, dict) else {},
            }
        )
    return blocks


def _claude_messages(
    merged: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    first = True
    for msg in merged:
        role = msg["role"]
        if role in ("system", "developer"):
            for part in _parts(msg["content"]):
                if part.get("type") == "text" and part.get("text"):
                    system.append({"type": "text", "text": part["text"]})
            continue
        if first:
            first = False
            if role != "user":
                out.append({"role": "user", "content": [{"type": "text", "text": "..."}]})
        if role == "tool":
            result = {
                "type": "tool_result",
                "tool_use_id": msg["tool_call_id"],
                "content": msg["content"],
            }
            if out and out[-1]["role"] == "user":
                last = out[-1]
                if isinstance(last["content"], str):
                    last["content"] = [{"type": "text", "text": last["content"]}]
                last["content"].append(result)
            else:
                out.append({"role": "user", "content": [result]})
            continue
        out.append({"role": role, "content": _assistant_or_user_content(msg)})
    return system, out


def _max_tokens(payload: dict[str, Any]) -> int:
    for key in ("max_completion_tokens", "max_tokens"):
        value = payload.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 0


def _suffix_thinking(
    out: dict[str, Any], model: str, opts: ClaudeOptions, *, from_pivot: bool
) -> None:
    """`model`'s effort suffix (Opus 4.6+) or `-thinking` adapter as Claude thinking settings.
    A converted (pivot) request also loses top_p, and its `-thinking` overrides any thinking."""
    effort_base = next((model[: -len(s)] for s in EFFORT_SUFFIXES if model.endswith(s)), None)
    if effort_base is not None and model.startswith(_ADAPTIVE_EFFORT_MODELS):
        out["model"] = effort_base
        out["thinking"] = {"type": "adaptive"}
        out["output_config"] = {"effort": model[len(effort_base) + 1 :]}
        if effort_base.startswith(_ADAPTIVE_ONLY_MODELS):
            out["thinking"]["display"] = "summarized"
            for key in ("temperature", "top_p", "top_k"):
                out.pop(key, None)
        else:
            if from_pivot:
                out.pop("top_p", None)
            out["temperature"] = 1.0
    elif opts.thinking_adapter_enabled and model.endswith(THINKING_SUFFIX):
        base = model[: -len(THINKING_SUFFIX)]
        if from_pivot or out.get("thinking") is None:
            if base.startswith(_ADAPTIVE_ONLY_MODELS):
                out["thinking"] = {"type": "adaptive", "display": "summarized"}
                out["output_config"] = {"effort": "high"}
                for key in ("temperature", "top_p", "top_k"):
                    out.pop(key, None)
            else:
                out["max_tokens"] = max(out["max_tokens"], THINKING_MIN_MAX_TOKENS)
                budget = int(out["max_tokens"] * opts.thinking_budget_percentage)
                out["thinking"] = {"type": "enabled", "budget_tokens": budget}
                if from_pivot:
                    out.pop("top_p", None)
                out["temperature"] = 1.0
        out["model"] = base


def _apply_thinking(out: dict[str, Any], payload: dict[str, Any], opts: ClaudeOptions) -> None:
    _suffix_thinking(out, str(out["model"]), opts, from_pivot=True)
    effort_budget = EFFORT_BUDGETS.get(str(payload.get("reasoning_effort")))
    if effort_budget:
        out["thinking"] = {"type": "enabled", "budget_tokens": effort_budget}
    reasoning = payload.get("reasoning")
    if isinstance(reasoning, dict):
        tokens = reasoning.get("max_tokens")
        if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens > 0:
            out["thinking"] = {"type": "enabled", "budget_tokens": tokens}


def adapt_claude_request(
    payload: dict[str, Any], model: str, options: ClaudeOptions | None = None
) -> dict[str, Any] | None:
    """new-api's rules for a Claude client's request to Claude (claude_handler), for upstream
    `model`: the default max_tokens when none (or 0) is given, effort suffixes of Opus 4.6+,
    the `-thinking` adapter. None when none applies (the client's bytes can go up as they are)."""
    opts = options or ClaudeOptions()
    max_tokens = payload.get("max_tokens")
    suffixed = (opts.thinking_adapter_enabled and model.endswith(THINKING_SUFFIX)) or (
        model.startswith(_ADAPTIVE_EFFORT_MODELS) and model.endswith(EFFORT_SUFFIXES)
    )
    if max_tokens not in (None, 0) and not suffixed:
        return None
    out = {**payload, "model": model}
    if max_tokens in (None, 0):
        out["max_tokens"] = opts.max_tokens_for(model)
    elif not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        raise ConversionError("max_tokens must be an integer")
    _suffix_thinking(out, model, opts, from_pivot=False)
    return out


def openai_to_claude_request(
    payload: dict[str, Any], options: ClaudeOptions | None = None
) -> dict[str, Any]:
    """An OpenAI Chat request as a Claude Messages request; raises ConversionError."""
    opts = options or ClaudeOptions()
    out: dict[str, Any] = {"model": payload.get("model")}
    if payload.get("temperature") is not None:
        out["temperature"] = payload["temperature"]
    out["max_tokens"] = _max_tokens(payload) or opts.max_tokens_for(str(out["model"]))
    for key in ("top_p", "top_k"):
        if payload.get(key) is not None:
            out[key] = payload[key]
    if payload.get("stream") is True:
        out["stream"] = True
    tools = _claude_tools(payload)
    if tools:
        out["tools"] = tools
    choice = _tool_choice(payload.get("tool_choice"), payload.get("parallel_tool_calls"))
    if choice is not None:
        out["tool_choice"] = choice
    _apply_thinking(out, payload, opts)
    stop = payload.get("stop")
    if isinstance(stop, str):
        out["stop_sequences"] = [stop]
    elif isinstance(stop, list):
        out["stop_sequences"] = [s for s in stop if isinstance(s, str)]
    messages = payload.get("messages")
    system, converted = _claude_messages(
        _merged_messages(messages if isinstance(messages, list) else [])
    )
    if system:
        out["system"] = system
    out["messages"] = converted
    return out
