"""JSON Schema → Gemini's schema subset, response_format cleanup, and tool_choice."""

from __future__ import annotations

import copy
from typing import Any

from relay.convert.gemini_schema import clean_parameters, strip_additional_properties, tool_config


def nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"p": schema}}
    return schema


def test_types_are_uppercased_and_null_becomes_nullable() -> None:
    assert clean_parameters({"type": " Number "}) == {"type": "NUMBER"}
    assert clean_parameters({"type": "null"}) == {"nullable": True}
    assert clean_parameters({"type": ["null", "boolean", "string"]}) == {
        "type": "BOOLEAN",
        "nullable": True,
    }
    assert clean_parameters({"type": ["null"]}) == {"nullable": True}
    assert clean_parameters({"type": "uuid"}) == {"type": "uuid"}  # unknown names pass as is


def test_unknown_keywords_are_dropped_everywhere() -> None:
    schema = {
        "type": "object",
        "const": 1,
        "properties": {"a": {"type": "array", "items": {"type": "integer", "$ref": "#/x"}}},
        "anyOf": [{"type": "string", "oneOf": []}],
    }
    original = copy.deepcopy(schema)
    assert clean_parameters(schema) == {
        "type": "OBJECT",
        "properties": {"a": {"type": "ARRAY", "items": {"type": "INTEGER"}}},
        "anyOf": [{"type": "STRING"}],
    }
    assert schema == original


def test_very_deep_schemas_are_cut() -> None:
    cleaned = clean_parameters(nested(70))
    depth = 0
    while "properties" in cleaned:
        cleaned = cleaned["properties"]["p"]
        depth += 1
    assert depth == 64
    assert cleaned == {"type": "OBJECT"}
    assert clean_parameters([1, {"type": "string"}]) == [1, {"type": "STRING"}]
    assert clean_parameters("x") == "x"


def test_strip_additional_properties() -> None:
    schema = {
        "$schema": "s",
        "title": "T",
        "type": "object",
        "additionalProperties": False,
        "properties": {"a": {"title": "A", "type": "string"}},
        "anyOf": [{"type": "object", "additionalProperties": True}],
    }
    original = copy.deepcopy(schema)
    assert strip_additional_properties(schema) == {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "anyOf": [{"type": "object"}],
    }
    assert schema == original
    # new-api stops after five levels.
    deep = {"type": "array", "items": nested(6)}
    out = strip_additional_properties(deep)
    for _ in range(4):
        out = out.get("items") or out["properties"]["p"]
    assert out == nested(3)
    assert strip_additional_properties([1]) == [1]
    assert strip_additional_properties({}) == {}


def test_tool_config_edge_cases() -> None:
    assert tool_config(None) is None
    assert tool_config({"type": "allowed_tools"}) is None
    assert tool_config({"type": "function"}) == {"functionCallingConfig": {"mode": "ANY"}}
    assert tool_config(3) is None
