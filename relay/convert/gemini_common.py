"""What every Gemini conversion shares: the options, the error type, typed field readers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relay.convert.fields import FieldReader

SAFETY_CATEGORIES = (
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
)

# new-api's gemini.supported_imagine_models default: these get responseModalities TEXT+IMAGE.
DEFAULT_IMAGINE_MODELS = (
    "gemini-2.0-flash-exp-image-generation",
    "gemini-2.0-flash-exp",
    "gemini-3-pro-image-preview",
    "gemini-3-pro-image",
    "gemini-2.5-flash-image",
    "gemini-3.1-flash-image",
    "gemini-3.1-flash-image-preview",
)


class GeminiConversionError(ValueError):
    """A payload that cannot be converted; the message is safe to show the client (400)."""


def _default_safety() -> dict[str, str]:
    return {"default": "OFF"}


def _default_versions() -> dict[str, str]:
    return {"default": "v1beta", "gemini-1.0-pro": "v1"}


@dataclass(frozen=True, slots=True)
class GeminiOptions:
    """new-api's `gemini.*` settings that change a conversion (defaults as new-api's)."""

    safety_settings: Mapping[str, str] = field(default_factory=_default_safety)
    function_call_thought_signature: bool = True
    thinking_adapter: bool = False
    thinking_budget_percentage: float = 0.6
    imagine_models: tuple[str, ...] = DEFAULT_IMAGINE_MODELS
    version_settings: Mapping[str, str] = field(default_factory=_default_versions)

    def api_version(self, model: str) -> str:
        """The URL's API version for a model: its entry, else "default" (else v1beta)."""
        return self.version_settings.get(model) or self.version_settings.get("default") or "v1beta"

    def safety_threshold(self, category: str) -> str:
        """The category's own threshold, else the `default` entry, else OFF."""
        return self.safety_settings.get(category) or self.safety_settings.get("default") or "OFF"


_FIELDS = FieldReader(GeminiConversionError)
obj = _FIELDS.obj
opt_obj = _FIELDS.opt_obj
opt_list = _FIELDS.opt_list
opt_str = _FIELDS.opt_str


def opt_num(value: Any, where: str) -> float | int | None:
    """A JSON number (not a boolean), or None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GeminiConversionError(f"{where} must be a number")
    return value


def count(value: Any) -> int:
    """A token count field: integers only, anything else is 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_data_url(url: str) -> tuple[str, str] | None:
    """`data:<mime>;base64,<data>` → (mime, data); None when `url` is not a base64 data URL."""
    if not url.startswith("data:"):
        return None
    head, sep, data = url[5:].partition(",")
    if not sep or not head.endswith(";base64"):
        return None
    return head[: -len(";base64")], data


# Gemini finishReason → OpenAI finish_reason; anything not listed is content_filter.
_GEMINI_FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}

# OpenAI finish_reason → Gemini finishReason; anything not listed is STOP.
_OPENAI_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}


def openai_finish_reason(gemini_reason: str) -> str:
    """STOP → stop, MAX_TOKENS → length, any other (SAFETY, RECITATION…) → content_filter."""
    return _GEMINI_FINISH.get(gemini_reason, "content_filter")


def gemini_finish_reason(openai_reason: str) -> str:
    """stop → STOP, length → MAX_TOKENS, content_filter → SAFETY, tool_calls and others → STOP."""
    return _OPENAI_FINISH.get(openai_reason, "STOP")
