"""JSON Schema → Gemini's OpenAPI subset (tool parameters, responseSchema) and tool_choice."""

from __future__ import annotations

from typing import Any

# The schema keywords Gemini's function declarations accept; every other keyword is dropped.
_ALLOWED = frozenset(
    {
        "anyOf",
        "default",
        "description",
        "enum",
        "example",
        "format",
        "items",
        "maxItems",
        "maxLength",
        "maxProperties",
        "maximum",
        "minItems",
        "minLength",
        "minProperties",
        "minimum",
        "nullable",
        "pattern",
        "properties",
        "propertyOrdering",
        "required",
        "title",
        "type",
    }
)
_MAX_DEPTH = 64  # past this, nested properties/items/anyOf are cut (as new-api does)
_TYPES = {
    "object": "OBJECT",
    "array": "ARRAY",
    "string": "STRING",
    "integer": "INTEGER",
    "number": "NUMBER",
    "boolean": "BOOLEAN",
}


def _normalize_type(schema: dict[str, Any]) -> None:
    """Uppercase `type`; a `null` type (alone or in a list) becomes `nullable: true`."""
    raw = schema.get("type")
    if raw is None:
        return
    if isinstance(raw, str):
        name = raw.strip().lower()
        if name == "null":
            schema["nullable"] = True
            del schema["type"]
        else:
            schema["type"] = _TYPES.get(name, raw)
        return
    if isinstance(raw, list):
        chosen = ""
        for item in raw:
            if not isinstance(item, str):
                continue
            name = item.strip().lower()
            if name == "null":
                schema["nullable"] = True
            elif not chosen:
                chosen = _TYPES.get(name, item)
        if chosen:
            schema["type"] = chosen
        else:
            del schema["type"]


def clean_parameters(params: Any, depth: int = 0) -> Any:
    """A tool's JSON Schema reduced to what Gemini accepts, types uppercased. Never mutates."""
    if isinstance(params, list):
        return [] if depth >= _MAX_DEPTH else [clean_parameters(p, depth + 1) for p in params]
    if not isinstance(params, dict):
        return params
    cleaned = {k: v for k, v in params.items() if k in _ALLOWED}
    _normalize_type(cleaned)
    if depth >= _MAX_DEPTH:
        for key in ("properties", "items", "anyOf"):
            cleaned.pop(key, None)
        return cleaned
    props = cleaned.get("properties")
    if isinstance(props, dict):
        cleaned["properties"] = {k: clean_parameters(v, depth + 1) for k, v in props.items()}
    items = cleaned.get("items")
    if isinstance(items, dict):
        cleaned["items"] = clean_parameters(items, depth + 1)
    elif isinstance(items, list) and items:
        cleaned["items"] = clean_parameters(items[0], depth + 1)
    any_of = cleaned.get("anyOf")
    if isinstance(any_of, list):
        cleaned["anyOf"] = [clean_parameters(item, depth + 1) for item in any_of]
    return cleaned


def strip_additional_properties(schema: Any, depth: int = 0) -> Any:
    """A response_format schema without title/$schema and additionalProperties. Never mutates."""
    if depth >= 5 or not isinstance(schema, dict) or not schema:
        return schema
    out = {k: v for k, v in schema.items() if k not in ("title", "$schema")}
    kind = out.get("type")
    if kind == "object":
        out.pop("additionalProperties", None)
        props = out.get("properties")
        if isinstance(props, dict):
            out["properties"] = {
                k: strip_additional_properties(v, depth + 1) for k, v in props.items()
            }
        for key in ("allOf", "anyOf", "oneOf"):
            nested = out.get(key)
            if isinstance(nested, list):
                out[key] = [strip_additional_properties(v, depth + 1) for v in nested]
    elif kind == "array" and isinstance(out.get("items"), dict):
        out["items"] = strip_additional_properties(out["items"], depth + 1)
    return out


_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}


def tool_config(tool_choice: Any) -> dict[str, Any] | None:
    """OpenAI tool_choice → Gemini toolConfig (None when there is nothing to say)."""
    if isinstance(tool_choice, str):
        return {"functionCallingConfig": {"mode": _MODES.get(tool_choice, "AUTO")}}
    if isinstance(tool_choice, dict) and tool_choice.get("type") == "function":
        config: dict[str, Any] = {"mode": "ANY"}
        fn = tool_choice.get("function")
        if isinstance(fn, dict) and isinstance(fn.get("name"), str) and fn["name"]:
            config["allowedFunctionNames"] = [fn["name"]]
        return {"functionCallingConfig": config}
    return None
