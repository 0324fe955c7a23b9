"""relay.admin.openapi: JSON Schema spelled as OpenAPI 3.0 (no type lists)."""

from __future__ import annotations

from relay.admin.openapi import openapi30_schema


def test_type_lists_become_nullable_or_any_of() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tag": {"type": ["string", "null"]},
            "n": {"type": ["integer", "string"]},
            "type": {"type": "integer"},  # a property named "type" is left alone
            "items": {"type": "array", "items": {"type": ["number", "null"]}},
        },
    }
    assert openapi30_schema(schema) == {
        "type": "object",
        "properties": {
            "tag": {"type": "string", "nullable": True},
            "n": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            "type": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "number", "nullable": True}},
        },
    }


def test_plain_values_pass_through() -> None:
    assert openapi30_schema({"type": "string", "enum": ["a", "b"]}) == {
        "type": "string",
        "enum": ["a", "b"],
    }
    assert openapi30_schema([1, "x", None]) == [1, "x", None]
