"""Gemini clients on OpenAI-type channels: Gemini request → OpenAI Chat, response → Gemini."""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

import orjson

from relay.convert.gemini_common import (
    GeminiConversionError,
    count,
    gemini_finish_reason,
    obj,
    opt_list,
    opt_num,
    opt_obj,
    opt_str,
)

_ROLES = {"user": "user", "model": "assistant", "function": "function"}


def _either(payload: dict[str, Any], camel: str, snake: str) -> Any:
    """Gemini's JSON accepts both spellings of a field name."""
    value = payload.get(camel)
    return payload.get(snake) if value is None else value


def _lower_types(schema: Any) -> Any:
    """Gemini schema types (`OBJECT`, `STRING`…) as JSON Schema's lowercase names."""
    if isinstance(schema, list):
        return [_lower_types(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _lower_types(v) for k, v in schema.items()}
    if isinstance(out.get("type"), str):
        out["type"] = out["type"].lower()
    return out


class _CallIds:
    """Ids for the functionCalls of a conversation, so each functionResponse names its call."""

    def __init__(self) -> None:
        self._issued = 0
        self._pending: defaultdict[str, deque[str]] = defaultdict(deque)

    def call(self, name: str) -> str:
        self._issued += 1
        call_id = f"call_{self._issued}"
        self._pending[name].append(call_id)
        return call_id

    def response(self, name: str) -> str:
        pending = self._pending[name]
        if pending:
            return pending.popleft()
        self._issued += 1  # a result without a call: give it an id of its own
        return f"call_{self._issued}"


def _message(content: dict[str, Any], where: str, ids: _CallIds) -> list[dict[str, Any]]:
    """One Gemini content → its tool messages, then the message itself (if it says anything)."""
    role = _ROLES.get(opt_str(content.get("role"), f"{where}.role"), "user")
    tools: list[dict[str, Any]] = []
    media: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for i, part in enumerate(opt_list(content.get("parts"), f"{where}.parts")):
        at = f"{where}.parts[{i}]"
        part = obj(part, at)
        text = opt_str(part.get("text"), f"{at}.text")
        inline = _either(part, "inlineData", "inline_data")
        file = _either(part, "fileData", "file_data")
        call = _either(part, "functionCall", "function_call")
        result = _either(part, "functionResponse", "function_response")
        if part.get("thought") is True:
            continue  # thought summaries are not part of the reply being replayed
        if text:
            media.append({"type": "text", "text": text})
        elif inline is not None:
            inline = obj(inline, f"{at}.inlineData")
            mime = opt_str(_either(inline, "mimeType", "mime_type"), f"{at}.inlineData.mimeType")
            data = opt_str(inline.get("data"), f"{at}.inlineData.data")
            url = f"data:{mime};base64,{data}"
            media.append({"type": "image_url", "image_url": {"url": url, "detail": "auto"}})
        elif file is not None:
            file = obj(file, f"{at}.fileData")
            url = opt_str(_either(file, "fileUri", "file_uri"), f"{at}.fileData.fileUri")
            media.append({"type": "image_url", "image_url": {"url": url, "detail": "auto"}})
        elif call is not None:
            call = obj(call, f"{at}.functionCall")
            name = opt_str(call.get("name"), f"{at}.functionCall.name")
            arguments = orjson.dumps(call.get("args")).decode()
            calls.append(
                {
                    "id": ids.call(name),
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            )
        elif result is not None:
            result = obj(result, f"{at}.functionResponse")
            name = opt_str(result.get("name"), f"{at}.functionResponse.name")
            body = orjson.dumps(result.get("response")).decode()
            tools.append({"role": "tool", "content": body, "tool_call_id": ids.response(name)})
    message: dict[str, Any] = {"role": role}
    if len(media) == 1 and media[0]["type"] == "text":
        message["content"] = media[0]["text"]
    elif media:
        message["content"] = media
    if calls:
        message.setdefault("content", None)
        message["tool_calls"] = calls
    return tools + ([message] if "content" in message else [])


def gemini_to_openai_request(
    payload: dict[str, Any], *, model: str, stream: bool
) -> dict[str, Any]:
    """The OpenAI Chat request for a Gemini generateContent request (thinkingConfig dropped)."""
    if not isinstance(payload, dict):
        raise GeminiConversionError("request body must be an object")
    ids = _CallIds()
    messages: list[dict[str, Any]] = []
    for i, content in enumerate(opt_list(payload.get("contents"), "contents")):
        messages.extend(_message(obj(content, f"contents[{i}]"), f"contents[{i}]", ids))
    system = _either(payload, "systemInstruction", "system_instruction")
    if system is not None:
        parts = opt_list(obj(system, "systemInstruction").get("parts"), "systemInstruction.parts")
        texts = [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]
        messages.insert(0, {"role": "system", "content": "\n".join(t for t in texts if t)})
    request: dict[str, Any] = {"model": model, "messages": messages, "stream": stream}

    config = opt_obj(_either(payload, "generationConfig", "generation_config"), "generationConfig")
    temperature = opt_num(config.get("temperature"), "generationConfig.temperature")
    if temperature is not None:
        request["temperature"] = temperature
    top_p = opt_num(_either(config, "topP", "top_p"), "generationConfig.topP")
    if top_p and top_p > 0:
        request["top_p"] = top_p
    top_k = opt_num(_either(config, "topK", "top_k"), "generationConfig.topK")
    if top_k and top_k > 0:
        request["top_k"] = int(top_k)
    max_out = _either(config, "maxOutputTokens", "max_output_tokens")
    max_out = opt_num(max_out, "generationConfig.maxOutputTokens")
    if max_out and max_out > 0:
        request["max_tokens"] = int(max_out)
    stops = opt_list(_either(config, "stopSequences", "stop_sequences"), "stopSequences")
    if stops:
        request["stop"] = stops[:4]  # OpenAI takes at most four
    n = opt_num(_either(config, "candidateCount", "candidate_count"), "candidateCount")
    if n and n > 0:
        request["n"] = int(n)

    tools = []
    for i, tool in enumerate(opt_list(payload.get("tools"), "tools")):
        tool = obj(tool, f"tools[{i}]")
        declarations = _either(tool, "functionDeclarations", "function_declarations")
        for j, fn in enumerate(opt_list(declarations, f"tools[{i}].functionDeclarations")):
            fn = obj(fn, f"tools[{i}].functionDeclarations[{j}]")
            function: dict[str, Any] = {"name": opt_str(fn.get("name"), "function name")}
            if fn.get("description"):
                function["description"] = fn["description"]
            params = _either(fn, "parametersJsonSchema", "parameters_json_schema")
            params = fn.get("parameters") if params is None else params
            if params is not None:
                function["parameters"] = _lower_types(params)
            tools.append({"type": "function", "function": function})
    if tools:
        request["tools"] = tools
    return request


def _args(arguments: str) -> dict[str, Any]:
    """Tool call arguments as functionCall.args; text that is not a JSON object is wrapped."""
    if not arguments:
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        value = None
    return value if isinstance(value, dict) else {"arguments": arguments}


def usage_metadata(usage: Any, prompt_estimate: int = 0) -> dict[str, Any]:
    """OpenAI usage → Gemini usageMetadata (the estimate stands in when there is none)."""
    raw = usage if isinstance(usage, dict) else {}
    prompt = count(raw.get("prompt_tokens")) if raw else prompt_estimate
    completion = count(raw.get("completion_tokens"))
    total = count(raw.get("total_tokens")) or prompt + completion
    return {
        "promptTokenCount": prompt,
        "toolUsePromptTokenCount": 0,
        "candidatesTokenCount": completion,
        "totalTokenCount": total,
        "thoughtsTokenCount": 0,
        "cachedContentTokenCount": 0,
    }


def function_call_part(name: str, arguments: str) -> dict[str, Any]:
    return {"functionCall": {"name": name, "args": _args(arguments)}}


def openai_to_gemini_response(body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI chat.completion as a Gemini generateContent response."""
    body = obj(body, "response")
    candidates = []
    for i, choice in enumerate(opt_list(body.get("choices"), "choices")):
        choice = obj(choice, f"choices[{i}]")
        message = opt_obj(choice.get("message"), f"choices[{i}].message")
        parts: list[dict[str, Any]] = []
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(
                p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
            )
        text = opt_str(content, f"choices[{i}].message.content")
        if text:
            parts.append({"text": text})
        for j, call in enumerate(opt_list(message.get("tool_calls"), f"choices[{i}].tool_calls")):
            fn = opt_obj(obj(call, f"choices[{i}].tool_calls[{j}]").get("function"), "function")
            name = opt_str(fn.get("name"), f"choices[{i}].tool_calls[{j}].function.name")
            arguments = opt_str(fn.get("arguments"), f"choices[{i}].tool_calls[{j}].arguments")
            parts.append(function_call_part(name, arguments))
        reason = choice.get("finish_reason")
        candidates.append(
            {
                "content": {"role": "model", "parts": parts},
                "finishReason": gemini_finish_reason(reason if isinstance(reason, str) else ""),
                "index": count(choice.get("index")),
                "safetyRatings": [],
            }
        )
    return {"candidates": candidates, "usageMetadata": usage_metadata(body.get("usage"))}
