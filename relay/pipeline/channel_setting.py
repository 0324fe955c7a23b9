"""A channel's `setting` applied to one attempt, where and as new-api applies it.

- `system_prompt` (+ `system_prompt_override`): on the client's request in its own format,
  before any conversion — Claude clients (`system`), Gemini clients (`systemInstruction`),
  and OpenAI Chat clients on OpenAI-format channels only (new-api adds it to the converted
  request only when that is still an OpenAI one). Responses clients get none.
- `force_format` / `thinking_to_content`: an OpenAI Chat client's stream from an
  OpenAI-format or a Gemini channel is re-serialized chunk by chunk, reasoning moved into
  `<think>` content when asked; with force_format a whole answer from an OpenAI-format
  channel is re-serialized too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from relay._fast.sse import SSEEvent
from relay.convert.reasoning import ThinkingToContent
from relay.pipeline.chunk_shape import go_shaped_chunk, go_shaped_response
from relay.providers.base import Endpoint, Format, PivotStream, Provider, Usage, speaks
from relay.routing import ChannelSetting

_REASONING_MODELS = ("o1", "o3", "o4")


def openai_system_role(model: str) -> str:
    """new-api's GetSystemRoleName: o-series (but o1-mini/o1-preview) and gpt-5 use developer."""
    if model.startswith(_REASONING_MODELS):
        if not model.startswith(("o1-mini", "o1-preview")):
            return "developer"
    elif model.startswith("gpt-5"):
        return "developer"
    return "system"


def _openai(payload: dict[str, Any], setting: ChannelSetting, model: str) -> dict[str, Any] | None:
    messages = payload.get("messages")
    messages = messages if isinstance(messages, list) else []
    role = openai_system_role(model)
    prompt = setting.system_prompt
    at = next(
        (i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == role), -1
    )
    if at == -1:
        return {**payload, "messages": [{"role": role, "content": prompt}, *messages]}
    if not setting.system_prompt_override:
        return None
    message = messages[at]
    content = message.get("content")
    if isinstance(content, str):
        content = prompt + "\n" + content
    else:
        parts = content if isinstance(content, list) else []
        content = [{"type": "text", "text": prompt}, *parts]
    edited = [*messages]
    edited[at] = {**message, "content": content}
    return {**payload, "messages": edited}


def _claude(payload: dict[str, Any], setting: ChannelSetting) -> dict[str, Any] | None:
    prompt = setting.system_prompt
    system = payload.get("system")
    if system is None:
        return {**payload, "system": prompt}
    if not setting.system_prompt_override:
        return None
    if isinstance(system, str):
        existing = system.strip()
        return {**payload, "system": prompt + "\n" + existing if existing else prompt}
    blocks = system if isinstance(system, list) else []
    return {**payload, "system": [{"type": "text", "text": prompt}, *blocks]}


def _gemini_parts(instruction: Any) -> list[Any]:
    parts = instruction.get("parts") if isinstance(instruction, dict) else None
    return parts if isinstance(parts, list) else []


def _part_text(part: Any) -> str:
    text = part.get("text") if isinstance(part, dict) else None
    return text if isinstance(text, str) else ""


def _gemini(payload: dict[str, Any], setting: ChannelSetting) -> dict[str, Any] | None:
    prompt = setting.system_prompt
    # As new-api's decoder: system_instruction (snake case) wins; it is sent as camel case.
    key = "system_instruction" if payload.get("system_instruction") is not None else None
    instruction = payload.get(key or "systemInstruction")
    parts = _gemini_parts(instruction)
    if instruction is None or not parts:
        base = instruction if isinstance(instruction, dict) else {}
        instruction = {**base, "parts": [{"text": prompt}]}
    elif setting.system_prompt_override:
        at = next((i for i, p in enumerate(parts) if _part_text(p)), -1)
        if at == -1:
            parts = [{"text": prompt}, *parts]
        else:
            parts = [*parts]
            parts[at] = {**parts[at], "text": prompt + "\n" + _part_text(parts[at])}
        instruction = {**instruction, "parts": parts}
    else:
        return None
    out = {k: v for k, v in payload.items() if k not in ("system_instruction", "systemInstruction")}
    if any(_part_text(p) for p in _gemini_parts(instruction)):  # new-api drops an empty one
        out["systemInstruction"] = instruction
    return out


def prompted_payload(
    setting: ChannelSetting,
    provider: Provider,
    endpoint: Endpoint,
    surface: Format,
    payload: dict[str, Any],
    upstream_model: str,
) -> dict[str, Any] | None:
    """The client's payload with the channel's system prompt, or None when it adds none."""
    if not setting.system_prompt:
        return None
    if surface is Format.CLAUDE:
        return _claude(payload, setting)
    if surface is Format.GEMINI and endpoint is Endpoint.GEMINI:
        return _gemini(payload, setting)
    if endpoint is Endpoint.CHAT and provider.native is Format.OPENAI:
        return _openai(payload, setting, upstream_model)
    return None


def reformats(setting: ChannelSetting, provider: Provider, endpoint: Endpoint) -> bool:
    """Whether an attempt's stream chunks are re-serialized (new-api's sendStreamData)."""
    return (
        setting.reformats_stream
        and endpoint is Endpoint.CHAT
        and provider.native in (Format.OPENAI, Format.GEMINI)
    )


def whole_answer(
    setting: ChannelSetting, provider: Provider, endpoint: Endpoint, body: bytes, data: Any
) -> bytes:
    """A passed-through non-stream answer as new-api's OpenaiHandler writes it."""
    if not setting.force_format or endpoint is not Endpoint.CHAT:
        return body
    if provider.native is not Format.OPENAI or not isinstance(data, dict):
        return body
    return orjson.dumps(go_shaped_response(data))


class ChunkFormatter:
    """OpenAI stream chunks as new-api writes them under force_format / thinking_to_content."""

    def __init__(self, setting: ChannelSetting) -> None:
        self._thinking = ThinkingToContent() if setting.thinking_to_content else None

    def chunks(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        shaped = go_shaped_chunk(chunk)
        if self._thinking is None:
            return [shaped]
        return [go_shaped_chunk(c) for c in self._thinking.convert(shaped)]

    def frame(self, event: SSEEvent) -> bytes:
        """One passed-through event's data as re-serialized SSE frames."""
        try:
            chunk = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            chunk = None
        if not isinstance(chunk, dict):  # [DONE] and anything else go as they came
            return b"data: " + event.data + b"\n\n"
        return b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in self.chunks(chunk))


def stream_framer(
    setting: ChannelSetting, provider: Provider, endpoint: Endpoint, surface: Format
) -> Callable[[SSEEvent], bytes] | None:
    """The re-framing of a same-format stream's events, when the channel asks for one."""
    if not speaks(provider, surface) or not reformats(setting, provider, endpoint):
        return None
    return ChunkFormatter(setting).frame


class FormattedPivotStream:
    """A converted stream's pivot chunks, re-serialized as the channel asks (Gemini → OpenAI)."""

    def __init__(self, reader: PivotStream, setting: ChannelSetting) -> None:
        self._reader = reader
        self._formatter = ChunkFormatter(setting)

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        return [c for chunk in self._reader.feed(data) for c in self._formatter.chunks(chunk)]

    def usage(self) -> Usage | None:
        return self._reader.usage()

    @property
    def tool_calls(self) -> int:
        return self._reader.tool_calls


def pivot_stream(
    reader: PivotStream, setting: ChannelSetting, provider: Provider, endpoint: Endpoint
) -> PivotStream:
    """`reader`, re-serializing its chunks when the channel asks for it on this call."""
    return (
        FormattedPivotStream(reader, setting) if reformats(setting, provider, endpoint) else reader
    )
