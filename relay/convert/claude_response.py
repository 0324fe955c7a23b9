"""Non-stream responses and usage between Claude Messages and OpenAI Chat (pure functions)."""

from __future__ import annotations

from typing import Any

import orjson

from relay.providers.base import Usage
from relay.providers.openai.convert import openai_usage_of

CLAUDE_TO_OPENAI_STOP = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
OPENAI_TO_CLAUDE_STOP = {
    "stop": "end_turn",
    "stop_sequence": "stop_sequence",
    "length": "max_tokens",
    "max_tokens": "max_tokens",
    "content_filter": "refusal",
    "tool_calls": "tool_use",
}


def _obj(value: Any) -> dict[str, Any]:
    """The value if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    """The value if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def finish_reason_of(stop_reason: str | None) -> str | None:
    """Claude stop_reason → OpenAI finish_reason (unknown values pass unchanged)."""
    if stop_reason is None:
        return None
    return CLAUDE_TO_OPENAI_STOP.get(stop_reason.lower(), stop_reason)


def stop_reason_of(finish_reason: Any) -> str:
    """OpenAI finish_reason → Claude stop_reason (unknown strings pass unchanged, non-strings are
    no reason)."""
    if not finish_reason or not isinstance(finish_reason, str):
        return ""
    return OPENAI_TO_CLAUDE_STOP.get(finish_reason.lower(), finish_reason)


def usage_from_claude(raw: Any, into: Usage | None = None) -> Usage:
    """A Claude usage object (Anthropic semantics: input excludes cache) as Usage; with `into`,
    only the non-zero fields overwrite (message_delta after message_start)."""
    usage = into or Usage(anthropic=True)
    if not isinstance(raw, dict):
        return usage
    fields = {
        "prompt_tokens": _int(raw.get("input_tokens")),
        "completion_tokens": _int(raw.get("output_tokens")),
        "cached_tokens": _int(raw.get("cache_read_input_tokens")),
        "cache_write_tokens": _int(raw.get("cache_creation_input_tokens")),
    }
    split = raw.get("cache_creation")
    if isinstance(split, dict):
        fields["cache_write_5m_tokens"] = _int(split.get("ephemeral_5m_input_tokens"))
        fields["cache_write_1h_tokens"] = _int(split.get("ephemeral_1h_input_tokens"))
    for name, value in fields.items():
        if value or into is None:
            setattr(usage, name, value)
    # new-api's NormalizeCacheCreationSplit: writes not attributed to 1h count as 5m.
    remainder = usage.cache_write_tokens - usage.cache_write_5m_tokens - usage.cache_write_1h_tokens
    if remainder > 0 and (usage.cache_write_5m_tokens or usage.cache_write_1h_tokens):
        usage.cache_write_5m_tokens += remainder
    usage.anthropic = True
    return usage


def claude_usage_of(usage: Usage) -> dict[str, Any]:
    """Usage as a Claude usage object, for a Claude client."""
    cached, writes = usage.cached_tokens, usage.cache_write_tokens
    inputs = usage.prompt_tokens
    if not usage.anthropic and writes > 0:
        # OpenAI prompt_tokens include cache reads and writes; Claude's input_tokens do not.
        inputs = max(inputs - cached - writes, 0)
    out: dict[str, Any] = {
        "input_tokens": inputs,
        "cache_creation_input_tokens": writes,
        "cache_read_input_tokens": cached,
        "output_tokens": usage.completion_tokens,
    }
    five, hour = usage.cache_write_5m_tokens, usage.cache_write_1h_tokens
    five += max(writes - five - hour, 0) if (five or hour) else 0
    if five or hour:
        out["cache_creation"] = {
            "ephemeral_5m_input_tokens": five,
            "ephemeral_1h_input_tokens": hour,
        }
    return out


def claude_to_openai_response(body: dict[str, Any], created: int) -> dict[str, Any]:
    """A Claude message as an OpenAI chat.completion (text blocks joined, thinking as
    reasoning_content, tool_use as tool_calls)."""
    texts: list[str] = []
    thinking: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in _list(body.get("content")):
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text") or ""))
        elif kind == "thinking":
            thinking.append(str(block.get("thinking") or ""))
        elif kind == "tool_use":
            tool_calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {
                        "name": block.get("name", ""),
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    },
                }
            )
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts)}
    if thinking:
        message["reasoning_content"] = "".join(thinking)
    if tool_calls:
        message["tool_calls"] = tool_calls
    stop = body.get("stop_reason")
    return {
        "id": body.get("id", ""),
        "object": "chat.completion",
        "created": created,
        "model": body.get("model", ""),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason_of(stop if isinstance(stop, str) else None),
            }
        ],
        "usage": openai_usage_of(usage_from_claude(body.get("usage"))),
    }


def _message_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text") or "")
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def openai_to_claude_response(body: dict[str, Any], usage: Usage) -> dict[str, Any]:
    """An OpenAI chat.completion as a Claude message, with `usage` in Claude's terms."""
    content: list[dict[str, Any]] = []
    stop = ""
    for choice in _list(body.get("choices")):
        if not isinstance(choice, dict):
            continue
        stop = stop_reason_of(choice.get("finish_reason"))
        message = _obj(choice.get("message"))
        text = _message_text(message.get("content"))
        calls = [c for c in _list(message.get("tool_calls")) if isinstance(c, dict)]
        if text or not calls:
            content.append({"type": "text", "text": text})
        for call in calls:
            function = _obj(call.get("function"))
            try:
                args = orjson.loads(function.get("arguments") or "{}")
            except orjson.JSONDecodeError:
                args = {}
            content.append(
                {
                    "type": "tool_use",
                    "id": call.get("id", ""),
                    "name": function.get("name", ""),
                    "input": args if isinstance(args, dict) else {},
                }
            )
    return {
        "id": body.get("id", ""),
        "type": "message",
        "role": "assistant",
        "model": body.get("model", ""),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": claude_usage_of(usage),
    }
