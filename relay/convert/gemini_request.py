"""OpenAI Chat request → Gemini `generateContent` request (pure: remote media is passed in)."""

from __future__ import annotations

from typing import Any

from relay.convert.gemini_common import (
    SAFETY_CATEGORIES,
    GeminiConversionError,
    GeminiOptions,
    obj,
    opt_list,
    opt_num,
    opt_obj,
    opt_str,
)
from relay.convert.gemini_parts import Media, remote_media_urls, to_contents
from relay.convert.gemini_schema import clean_parameters, strip_additional_properties, tool_config
from relay.convert.reasoning import gemini_thinking

__all__ = ["openai_to_gemini_request", "remote_media_urls"]

# Tool names that mean Gemini's built-in tools, in the order new-api lists them.
_BUILTIN_TOOLS = ("codeExecution", "googleSearch", "urlContext")


def _max_tokens(payload: dict[str, Any]) -> int:
    for key in ("max_completion_tokens", "max_tokens"):
        value = opt_num(payload.get(key), key)
        if value:
            return int(value)
    return 0


def _stop_sequences(stop: Any) -> list[str]:
    if isinstance(stop, str):
        return [stop] if stop else []
    if isinstance(stop, list):
        return [s for s in stop if isinstance(s, str) and s][:5]
    return []


def _extra_thinking(google: dict[str, Any]) -> dict[str, Any] | None:
    """`extra_body.google.thinking_config` (snake_case keys) → a Gemini thinkingConfig."""
    if "thinkingConfig" in google:
        raise GeminiConversionError(
            "extra_body.google.thinkingConfig is not supported, "
            "use extra_body.google.thinking_config instead"
        )
    raw = google.get("thinking_config")
    if not isinstance(raw, dict):
        return None
    if "thinkingBudget" in raw:
        raise GeminiConversionError(
            "extra_body.google.thinking_config.thinkingBudget is not supported, "
            "use extra_body.google.thinking_config.thinking_budget instead"
        )
    config: dict[str, Any] = {}
    if "thinking_budget" in raw:
        budget = raw["thinking_budget"]
        if isinstance(budget, bool) or not isinstance(budget, int | float):
            raise GeminiConversionError(
                "extra_body.google.thinking_config.thinking_budget must be an integer"
            )
        config["thinkingBudget"] = int(budget)
        config["includeThoughts"] = int(budget) > 0
    if "include_thoughts" in raw:
        if not isinstance(raw["include_thoughts"], bool):
            raise GeminiConversionError(
                "extra_body.google.thinking_config.include_thoughts must be a boolean"
            )
        config["includeThoughts"] = raw["include_thoughts"]
    if "thinking_level" in raw:
        if not isinstance(raw["thinking_level"], str):
            raise GeminiConversionError(
                "extra_body.google.thinking_config.thinking_level must be a string"
            )
        config["thinkingLevel"] = raw["thinking_level"]
    return config or None


def _image_config(google: dict[str, Any]) -> dict[str, Any] | None:
    if "imageConfig" in google:
        raise GeminiConversionError(
            "extra_body.google.imageConfig is not supported, "
            "use extra_body.google.image_config instead"
        )
    raw = google.get("image_config")
    if not isinstance(raw, dict):
        return None
    for bad, good in (("aspectRatio", "aspect_ratio"), ("imageSize", "image_size")):
        if bad in raw:
            raise GeminiConversionError(
                f"extra_body.google.image_config.{bad} is not supported, "
                f"use extra_body.google.image_config.{good} instead"
            )
    config = {}
    if "aspect_ratio" in raw:
        config["aspectRatio"] = raw["aspect_ratio"]
    if "image_size" in raw:
        config["imageSize"] = raw["image_size"]
    return config or None


def _generation_config(
    payload: dict[str, Any], model: str, options: GeminiOptions
) -> dict[str, Any]:
    config: dict[str, Any] = {}
    temperature = opt_num(payload.get("temperature"), "temperature")
    if temperature is not None:
        config["temperature"] = temperature
    top_p = opt_num(payload.get("top_p"), "top_p")
    if top_p is not None and top_p > 0:
        config["topP"] = top_p
    max_tokens = _max_tokens(payload)
    if max_tokens > 0:
        config["maxOutputTokens"] = max_tokens
    seed = opt_num(payload.get("seed"), "seed")
    if seed:
        config["seed"] = int(seed)
    if model in options.imagine_models:
        config["responseModalities"] = ["TEXT", "IMAGE"]
    stop = _stop_sequences(payload.get("stop"))
    if stop:
        config["stopSequences"] = stop

    extra = payload.get("extra_body")
    if extra is not None and not isinstance(extra, dict):
        raise GeminiConversionError("invalid extra body: extra_body must be an object")
    google = extra.get("google") if extra else None
    from_extra = False
    if isinstance(google, dict):
        # A request that names its own Google options opts out of the suffix adapter,
        # except that `-nothinking` keeps its meaning.
        if not model.endswith("-nothinking"):
            from_extra = True
            thinking = _extra_thinking(google)
            if thinking is not None:
                config["thinkingConfig"] = thinking
        image = _image_config(google)
        if image is not None:
            config["imageConfig"] = image
    if not from_extra:
        effort = payload.get("reasoning_effort")
        suffix = gemini_thinking(
            model,
            adapter_enabled=options.thinking_adapter,
            max_output_tokens=max_tokens,
            reasoning_effort=effort if isinstance(effort, str) else None,
            budget_percentage=options.thinking_budget_percentage,
        )
        if suffix.config is not None:
            config["thinkingConfig"] = suffix.config

    response_format = opt_obj(payload.get("response_format"), "response_format")
    if response_format.get("type") in ("json_schema", "json_object"):
        config["responseMimeType"] = "application/json"
        json_schema = response_format.get("json_schema")
        if isinstance(json_schema, dict) and json_schema.get("schema") is not None:
            config["responseSchema"] = strip_additional_properties(json_schema["schema"])
    return config


def _tools(payload: dict[str, Any]) -> list[dict[str, Any]]:
    functions: list[dict[str, Any]] = []
    builtins: set[str] = set()
    for i, tool in enumerate(opt_list(payload.get("tools"), "tools")):
        tool = obj(tool, f"tools[{i}]")
        fn = obj(tool.get("function"), f"tools[{i}].function")
        name = opt_str(fn.get("name"), f"tools[{i}].function.name")
        if name in _BUILTIN_TOOLS:
            builtins.add(name)
            continue
        declaration: dict[str, Any] = {"name": name}
        description = opt_str(fn.get("description"), f"tools[{i}].function.description")
        if description:
            declaration["description"] = description
        params = fn.get("parameters")
        if isinstance(params, dict) and params.get("properties") == {}:
            params = None  # Gemini rejects an OBJECT schema with no properties
        if params is not None:
            declaration["parameters"] = clean_parameters(params)
        functions.append(declaration)
    tools: list[dict[str, Any]] = [{name: {}} for name in _BUILTIN_TOOLS if name in builtins]
    if functions:
        tools.append({"functionDeclarations": functions})
    return tools


def openai_to_gemini_request(
    payload: dict[str, Any],
    *,
    model: str,
    options: GeminiOptions | None = None,
    media: Media | None = None,
) -> dict[str, Any]:
    """The Gemini request for an OpenAI Chat payload.

    `model` is the upstream name before suffix stripping (suffixes drive thinkingConfig).
    `media` maps each URL from `remote_media_urls(payload)` to its (mime type, base64 data).
    """
    options = options or GeminiOptions()
    if not isinstance(payload, dict):
        raise GeminiConversionError("request body must be an object")
    messages = opt_list(payload.get("messages"), "messages")
    contents, system = to_contents(messages, media or {}, options.function_call_thought_signature)
    request: dict[str, Any] = {
        "contents": contents,
        "generationConfig": _generation_config(payload, model, options),
    }
    safety = [
        {"category": category, "threshold": threshold}
        for category in SAFETY_CATEGORIES
        if (threshold := options.safety_threshold(category))
    ]
    if safety:
        request["safetySettings"] = safety
    if payload.get("tools") is not None:
        tools = _tools(payload)
        if tools:
            request["tools"] = tools
        config = tool_config(payload.get("tool_choice"))
        if config is not None:
            request["toolConfig"] = config
    if system is not None:
        request["systemInstruction"] = system
    return request
