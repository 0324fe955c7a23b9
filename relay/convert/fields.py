"""Typed reads of parsed JSON values that raise one format's own conversion error."""

from __future__ import annotations

from typing import Any


class FieldReader:
    """`obj`, `opt_obj`, `opt_list` and `opt_str`, raising `error` (naming the field) on a
    value of the wrong type."""

    def __init__(self, error: type[ValueError]) -> None:
        self._error = error

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        """`value` as a JSON object."""
        if not isinstance(value, dict):
            raise self._error(f"{where} must be an object")
        return value

    def opt_obj(self, value: Any, where: str) -> dict[str, Any]:
        """An optional JSON object: absent (None) reads as empty."""
        return {} if value is None else self.obj(value, where)

    def opt_list(self, value: Any, where: str) -> list[Any]:
        """An optional JSON array: absent (None) reads as empty."""
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._error(f"{where} must be an array")
        return value

    def opt_str(self, value: Any, where: str) -> str:
        """An optional JSON string: absent (None) reads as ""."""
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self._error(f"{where} must be a string")
        return value
