"""Gemini `generateContent` response → OpenAI Chat response, and Gemini usage → relay Usage."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from relay.convert.gemini_common import (
    GeminiConversionError,
    count,
    obj,
    openai_finish_reason,
    opt_list,
    opt_obj,
    opt_str,
)
from relay.providers.base import Usage


class GeminiEmptyResponse(GeminiConversionError):
    """No candidates: blocked by Gemini (400 `prompt_blocked`) or empty (500 `empty_response`)."""

    def __init__(self, block_reason: str | None) -> None:
        if block_reason:
            super().__init__(f"request blocked by Gemini API: {block_reason}")
            self.status, self.code = 400, "prompt_blocked"
        else:
            super().__init__("empty response from Gemini API")
            self.status, self.code = 500, "empty_response"
        self.block_reason = block_reason


def _modalities(details: Any) -> dict[str, int]:
    totals = {"TEXT": 0, "AUDIO": 0, "IMAGE": 0}
    if isinstance(details, list):
        for detail in details:
            if isinstance(detail, dict) and detail.get("modality") in totals:
                totals[detail["modality"]] += count(detail.get("tokenCount"))
    return totals


def has_usage_tokens(metadata: Any) -> bool:
    """Whether usageMetadata reports any token at all (else the caller counts locally)."""
    if not isinstance(metadata, dict):
        return False
    keys = (
        "promptTokenCount",
        "toolUsePromptTokenCount",
        "candidatesTokenCount",
        "totalTokenCount",
        "thoughtsTokenCount",
        "cachedContentTokenCount",
    )
    if any(count(metadata.get(k)) for k in keys):
        return True
    details = ("promptTokensDetails", "toolUsePromptTokensDetails", "candidatesTokensDetails")
    return any(any(_modalities(metadata.get(k)).values()) for k in details)


@dataclass(slots=True)
class GeminiUsage:
    """One usageMetadata read two ways: relay's Usage (for billing) and OpenAI's usage object."""

    usage: Usage
    openai: dict[str, Any] = field(default_factory=dict)


def gemini_usage(metadata: Any, fallback_prompt_tokens: int = 0) -> GeminiUsage:
    """prompt = prompt + toolUsePrompt, completion = candidates + thoughts, total as reported.

    A prompt count of 0 falls back to `fallback_prompt_tokens` (the local estimate).
    """
    meta = metadata if isinstance(metadata, dict) else {}
    prompt = count(meta.get("promptTokenCount")) + count(meta.get("toolUsePromptTokenCount"))
    if prompt <= 0 < fallback_prompt_tokens:
        prompt = fallback_prompt_tokens
    thoughts = count(meta.get("thoughtsTokenCount"))
    completion = count(meta.get("candidatesTokenCount")) + thoughts
    total = count(meta.get("totalTokenCount"))
    if total > 0 and completion <= 0:
        completion = total - prompt
    cached = count(meta.get("cachedContentTokenCount"))
    inputs = _modalities(meta.get("promptTokensDetails"))
    for key, value in _modalities(meta.get("toolUsePromptTokensDetails")).items():
        inputs[key] += value
    outputs = _modalities(meta.get("candidatesTokensDetails"))
    if prompt > 0 and not inputs["TEXT"] and not inputs["AUDIO"]:
        inputs["TEXT"] = prompt
    openai = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total if meta else prompt + completion,
        "prompt_tokens_details": {
            "cached_tokens": cached,
            "text_tokens": inputs["TEXT"],
            "audio_tokens": inputs["AUDIO"],
            "image_tokens": inputs["IMAGE"],
        },
        "completion_tokens_details": {
            "text_tokens": outputs["TEXT"],
            "audio_tokens": outputs["AUDIO"],
            "image_tokens": outputs["IMAGE"],
            "reasoning_tokens": thoughts,
        },
    }
    usage = Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        image_tokens=inputs["IMAGE"],
    )
    return GeminiUsage(usage, openai)


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex}"


@dataclass(slots=True)
class CandidateOutput:
    """What one candidate's parts say, in OpenAI terms."""

    content: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


def read_parts(parts: list[Any], where: str, *, stream: bool) -> CandidateOutput:
    """Text and media (markdown data URLs), thought text, and function calls of one candidate.

    Pieces of content are joined with a newline; a stream drops non-image media.
    """
    pieces: list[str] = []
    thoughts: list[str] = []
    out = CandidateOutput()
    fence_end = "\n```\n" if stream else "\n```"
    for i, part in enumerate(parts):
        part = obj(part, f"{where}[{i}]")
        inline = part.get("inlineData")
        if inline is not None:
            inline = obj(inline, f"{where}[{i}].inlineData")
            mime = opt_str(inline.get("mimeType"), f"{where}[{i}].inlineData.mimeType")
            data = opt_str(inline.get("data"), f"{where}[{i}].inlineData.data")
            if mime.startswith("image"):
                pieces.append(f"![image](data:{mime};base64,{data})")
            elif not stream:
                pieces.append(f"[media](data:{mime};base64,{data})")
        elif part.get("functionCall") is not None:
            call = obj(part["functionCall"], f"{where}[{i}].functionCall")
            name = opt_str(call.get("name"), f"{where}[{i}].functionCall.name")
            args = call.get("args")
            # A call without args gets "{}" rather than "null": clients parse it as an object.
            arguments = "{}" if args is None else orjson.dumps(args).decode()
            out.tool_calls.append(
                {
                    "id": new_call_id(),
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            )
        elif part.get("thought") is True:
            thoughts.append(opt_str(part.get("text"), f"{where}[{i}].text"))
        elif isinstance(part.get("executableCode"), dict):
            code = part["executableCode"]
            language = opt_str(code.get("language"), f"{where}[{i}].executableCode.language")
            source = opt_str(code.get("code"), f"{where}[{i}].executableCode.code")
            pieces.append(f"```{language}\n{source}{fence_end}")
        elif isinstance(part.get("codeExecutionResult"), dict):
            result = part["codeExecutionResult"]
            output = opt_str(result.get("output"), f"{where}[{i}].codeExecutionResult.output")
            pieces.append(f"```output\n{output}{fence_end}")
        else:
            text = opt_str(part.get("text"), f"{where}[{i}].text")
            if text and text != "\n":
                pieces.append(text)
    out.content = "\n".join(pieces)
    out.reasoning = "".join(thoughts)
    return out


def candidate_parts(candidate: dict[str, Any], where: str) -> list[Any]:
    content = opt_obj(candidate.get("content"), f"{where}.content")
    return opt_list(content.get("parts"), f"{where}.content.parts")


def gemini_to_openai_response(
    body: dict[str, Any],
    *,
    response_id: str,
    created: int,
    model: str,
    fallback_prompt_tokens: int = 0,
) -> tuple[dict[str, Any], Usage | None]:
    """(OpenAI chat.completion, usage). Usage is None when Gemini reported no tokens.

    With no usage the response carries the fallback prompt count only; the caller counts the
    completion locally (also when Gemini reported 0 completion tokens for a non-empty reply)
    and replaces `usage`. No candidates raises GeminiEmptyResponse; the prompt is still billed
    from `gemini_usage(body.get("usageMetadata"))`.
    """
    body = obj(body, "response")
    candidates = opt_list(body.get("candidates"), "candidates")
    if not candidates:
        feedback = opt_obj(body.get("promptFeedback"), "promptFeedback")
        reason = feedback.get("blockReason")
        raise GeminiEmptyResponse(reason if isinstance(reason, str) else None)
    choices = []
    for i, candidate in enumerate(candidates):
        where = f"candidates[{i}]"
        candidate = obj(candidate, where)
        parts = read_parts(
            candidate_parts(candidate, where), f"{where}.content.parts", stream=False
        )
        message: dict[str, Any] = {"role": "assistant", "content": parts.content}
        if parts.reasoning:
            message["reasoning_content"] = parts.reasoning
        finish = "stop"
        reason = candidate.get("finishReason")
        if isinstance(reason, str) and reason:
            finish = openai_finish_reason(reason)
        if parts.tool_calls:
            message["tool_calls"] = parts.tool_calls
            finish = "tool_calls"
        index = count(candidate.get("index"))
        choices.append({"index": index, "message": message, "finish_reason": finish})
    metadata = body.get("usageMetadata")
    read = gemini_usage(metadata, fallback_prompt_tokens)
    usage = read.usage if has_usage_tokens(metadata) else None
    response = {
        "id": response_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": read.openai,
    }
    return response, usage
