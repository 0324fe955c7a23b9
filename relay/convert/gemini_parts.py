"""OpenAI Chat messages → Gemini `contents` and `systemInstruction` (no I/O: media is given)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from relay.convert.gemini_common import (
    GeminiConversionError,
    obj,
    opt_list,
    opt_str,
    parse_data_url,
)

# Gemini rejects a replayed functionCall without a thoughtSignature; new-api sends this
# documented bypass value instead of a real one.
THOUGHT_SIGNATURE_BYPASS = "context_engineering_is_the_way_to_go"

SUPPORTED_MIME_TYPES = frozenset(
    {
        "application/pdf",
        "audio/mpeg",
        "audio/mp3",
        "audio/wav",
        "image/png",
        "image/jpeg",
        "image/jpg",
        "image/webp",
        "image/heic",
        "image/heif",
        "text/plain",
        "video/mov",
        "video/mpeg",
        "video/mp4",
        "video/mpg",
        "video/avi",
        "video/wmv",
        "video/mpegps",
        "video/flv",
    }
)

Media = Mapping[
    str, tuple[str, str]
]  # remote URL → (mime type, base64 data), fetched by the caller


def is_remote(url: str) -> bool:
    return url.startswith("http")


def _media_source(part: dict[str, Any], where: str) -> tuple[str, str] | None:
    """(url or base64 data, mime hint) of a non-text content part; None when it has none."""
    kind = part.get("type")
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        return (opt_str(url, f"{where}.image_url.url"), "") if url else None
    if kind == "input_audio":
        audio = obj(part.get("input_audio"), f"{where}.input_audio")
        data = opt_str(audio.get("data"), f"{where}.input_audio.data")
        fmt = opt_str(audio.get("format"), f"{where}.input_audio.format")
        return (data, f"audio/{fmt}" if fmt else "") if data else None
    if kind == "file":
        file = obj(part.get("file"), f"{where}.file")
        data = opt_str(file.get("file_data"), f"{where}.file.file_data")
        return (data, "") if data else None
    if kind == "video_url":
        video = part.get("video_url")
        url = video.get("url") if isinstance(video, dict) else video
        return (opt_str(url, f"{where}.video_url.url"), "") if url else None
    return None


def content_parts(message: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """A message's content as a list of OpenAI content parts (a string is one text part)."""
    content = message.get("content")
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    parts = opt_list(content, f"{where}.content")
    for i, part in enumerate(parts):
        obj(part, f"{where}.content[{i}]")
    return parts


def string_content(message: dict[str, Any], where: str) -> str:
    """The message's text: the string content, or its text parts concatenated."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "".join(
        p["text"]
        for p in content_parts(message, where)
        if p.get("type") == "text" and isinstance(p.get("text"), str)
    )


def remote_media_urls(payload: dict[str, Any]) -> list[str]:
    """Remote media URLs in the messages, in order and unique: the caller fetches these."""
    urls: list[str] = []
    for i, message in enumerate(opt_list(payload.get("messages"), "messages")):
        message = obj(message, f"messages[{i}]")
        if message.get("role") in ("system", "developer", "tool", "function"):
            continue
        for j, part in enumerate(content_parts(message, f"messages[{i}]")):
            source = _media_source(part, f"messages[{i}].content[{j}]")
            if source and is_remote(source[0]) and source[0] not in urls:
                urls.append(source[0])
    return urls


def _inline(source: tuple[str, str], media: Media, where: str) -> dict[str, Any]:
    data, mime = source
    if is_remote(data):
        if data not in media:
            raise GeminiConversionError(f"{where}: media URL was not fetched")
        mime, data = media[data]
    else:
        decoded = parse_data_url(data)
        if decoded is not None:
            mime, data = decoded
    if not mime:
        raise GeminiConversionError(f"{where}: cannot tell the media type")
    if mime.lower() not in SUPPORTED_MIME_TYPES:
        raise GeminiConversionError(f"{where}: mime type is not supported by Gemini: '{mime}'")
    return {"inlineData": {"mimeType": mime, "data": data}}


def _text_parts(text: str, sign: bool, where: str) -> list[dict[str, Any]]:
    """Text, with markdown `![..](data:…)` images (from earlier model turns) as inlineData."""
    parts: list[dict[str, Any]] = []
    found = False
    while (start := text.find("![")) != -1:
        bracket = text.find("](data:", start)
        if bracket == -1:
            break
        close = text.find(")", bracket + 2)
        if close == -1:
            break
        found = True
        if start > 0:
            parts.append({"text": text[:start]})
        decoded = parse_data_url(text[bracket + 2 : close])
        if decoded is None:
            raise GeminiConversionError(f"{where}: bad markdown image data URL")
        image: dict[str, Any] = {"inlineData": {"mimeType": decoded[0], "data": decoded[1]}}
        if sign:
            image["thoughtSignature"] = THOUGHT_SIGNATURE_BYPASS
        parts.append(image)
        text = text[close + 1 :]
    if text or not found:
        parts.append({"text": text})
    return parts


def _tool_result(content: str) -> dict[str, Any]:
    """A tool message's content as functionResponse.response: object as is, array, or text."""
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {"result": value}
    return {"content": content}


def _call_parts(message: dict[str, Any], where: str, names: dict[str, str]) -> list[dict[str, Any]]:
    parts = []
    for i, call in enumerate(opt_list(message.get("tool_calls"), f"{where}.tool_calls")):
        call = obj(call, f"{where}.tool_calls[{i}]")
        fn = obj(call.get("function"), f"{where}.tool_calls[{i}].function")
        name = opt_str(fn.get("name"), f"{where}.tool_calls[{i}].function.name")
        raw = opt_str(fn.get("arguments"), f"{where}.tool_calls[{i}].function.arguments")
        args: Any = {}
        if raw:
            try:
                args = orjson.loads(raw)
            except orjson.JSONDecodeError:
                args = None
            if not isinstance(args, dict):
                raise GeminiConversionError(f"invalid arguments for function {name}")
        parts.append({"functionCall": {"name": name, "args": args}})
        call_id = call.get("id")
        if isinstance(call_id, str):
            names[call_id] = name
    return parts


def _sign_first(parts: list[dict[str, Any]], key: str) -> bool:
    for part in parts:
        if key == "functionCall":
            call = part.get("functionCall")
            ok = call is not None and (call["name"].strip() != "" or bool(call["args"]))
        else:
            ok = bool(part.get("text"))
        if ok and "thoughtSignature" not in part:
            part["thoughtSignature"] = THOUGHT_SIGNATURE_BYPASS
            return True
    return False


def to_contents(
    messages: list[Any], media: Media, sign: bool
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(contents, systemInstruction) for the messages; `sign` adds the thoughtSignature bypass."""
    contents: list[dict[str, Any]] = []
    system: list[str] = []
    names: dict[str, str] = {}  # tool_call id → function name, for the tool results
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        message = obj(message, where)
        role = opt_str(message.get("role"), f"{where}.role")
        if role in ("system", "developer"):
            system.append(string_content(message, where))
            continue
        if role in ("tool", "function"):
            if not contents or contents[-1]["role"] == "model":
                contents.append({"role": "user", "parts": []})
            name = message.get("name")
            if not isinstance(name, str):
                name = names.get(str(message.get("tool_call_id")), "")
            response = _tool_result(string_content(message, where))
            contents[-1]["parts"].append({"functionResponse": {"name": name, "response": response}})
            continue
        signing = sign and role in ("assistant", "model")
        parts = _call_parts(message, where, names)
        signed = signing and _sign_first(parts, "functionCall")
        for j, part in enumerate(content_parts(message, where)):
            if part.get("type") == "text":
                text = opt_str(part.get("text"), f"{where}.content[{j}].text")
                if text:
                    parts.extend(_text_parts(text, signing, f"{where}.content[{j}]"))
                continue
            source = _media_source(part, f"{where}.content[{j}]")
            if source is not None:
                parts.append(_inline(source, media, f"{where}.content[{j}]"))
        if signing and not signed:
            _sign_first(parts, "text")
        if parts:
            contents.append({"role": "model" if role == "assistant" else role, "parts": parts})
    instruction = {"parts": [{"text": "\n".join(system)}]} if system else None
    return contents, instruction
