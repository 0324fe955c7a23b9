"""Shared parts of the Responses ⇄ Chat conversions: the error type, field readers, usage."""

from __future__ import annotations

from typing import Any

import orjson

from relay.convert.fields import FieldReader
from relay.providers.base import Usage


class ResponsesConversionError(ValueError):
    """A payload cannot be converted between the Responses and Chat formats (bad shape or type)."""


class ResponsesStreamFailed(ResponsesConversionError):
    """The upstream Responses stream reported a failure; `error` is its error object."""

    def __init__(self, message: str, error: dict[str, Any]) -> None:
        super().__init__(message)
        self.error = error


_FIELDS = FieldReader(ResponsesConversionError)
obj = _FIELDS.obj
opt_obj = _FIELDS.opt_obj
opt_list = _FIELDS.opt_list
opt_str = _FIELDS.opt_str


def count(value: Any) -> int:
    """A token count; anything that is not a non-negative integer counts as 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def json_text(value: Any) -> str:
    """Arguments or tool output as Chat carries them: strings as is, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError as exc:
        raise ResponsesConversionError(f"value is not JSON-serialisable: {exc}") from None


def summary_break(text: str) -> str:
    """The separator that puts a new reasoning summary part on its own paragraph."""
    if text.startswith("\n\n"):
        return ""
    return "\n" if text.startswith("\n") else "\n\n"


def join_summaries(texts: list[str]) -> str:
    """Reasoning summary parts as one reasoning_content text, a blank line between parts."""
    out = ""
    for text in texts:
        if text:
            out += (summary_break(text) if out else "") + text
    return out


# --- usage --------------------------------------------------------------------------------------


def chat_usage_to_responses(raw: Any) -> dict[str, Any] | None:
    """Chat `usage` → the Responses usage object (input/output/total with their details)."""
    if not isinstance(raw, dict):
        return None
    prompt = count(raw.get("prompt_tokens"))
    completion = count(raw.get("completion_tokens"))
    total = count(raw.get("total_tokens")) or prompt + completion
    prompt_details = raw.get("prompt_tokens_details")
    completion_details = raw.get("completion_tokens_details")
    prompt_details = prompt_details if isinstance(prompt_details, dict) else {}
    reasoning = (
        count(completion_details.get("reasoning_tokens"))
        if isinstance(completion_details, dict)
        else 0
    )
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cache_write_tokens": count(prompt_details.get("cache_write_tokens")),
            # DeepSeek reports its cache hits at the top level.
            "cached_tokens": count(prompt_details.get("cached_tokens"))
            or count(raw.get("prompt_cache_hit_tokens")),
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": total,
    }


def responses_usage_to_chat(raw: Any) -> dict[str, Any] | None:
    """Responses `usage` → the Chat usage object, keeping cached and reasoning token details."""
    if not isinstance(raw, dict):
        return None
    prompt = count(raw.get("input_tokens"))
    completion = count(raw.get("output_tokens"))
    total = count(raw.get("total_tokens")) or prompt + completion
    in_details = raw.get("input_tokens_details")
    out_details = raw.get("output_tokens_details")
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
    }
    if isinstance(in_details, dict):
        details = {"cached_tokens": count(in_details.get("cached_tokens"))}
        if count(in_details.get("cache_write_tokens")):
            details["cache_write_tokens"] = count(in_details["cache_write_tokens"])
        usage["prompt_tokens_details"] = details
    if isinstance(out_details, dict):
        usage["completion_tokens_details"] = {
            "reasoning_tokens": count(out_details.get("reasoning_tokens"))
        }
    return usage


def usage_of(raw: Any) -> Usage | None:
    """Responses `usage` → relay's Usage for billing; None when absent."""
    if not isinstance(raw, dict):
        return None
    prompt = count(raw.get("input_tokens"))
    completion = count(raw.get("output_tokens"))
    if not completion and count(raw.get("total_tokens")) > prompt:
        completion = count(raw.get("total_tokens")) - prompt
    details = raw.get("input_tokens_details")
    details = details if isinstance(details, dict) else {}
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=count(details.get("cached_tokens")),
        cache_write_tokens=count(details.get("cache_write_tokens")),
    )


# --- finish reason ⇄ status ---------------------------------------------------------------------


def status_of_finish(finish_reason: Any) -> tuple[str, dict[str, str] | None]:
    """Chat finish_reason → Responses (status, incomplete_details), as new-api maps it."""
    if finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def finish_of_status(status: Any, incomplete_details: Any) -> str | None:
    """Responses status → the Chat finish_reason it implies (incomplete only), else None."""
    if status != "incomplete":
        return None
    reason = incomplete_details.get("reason") if isinstance(incomplete_details, dict) else None
    return "content_filter" if reason == "content_filter" else "length"
