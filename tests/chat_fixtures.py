"""The weather tool and the short conversations the format e2e tests send, in each API's shape."""

from __future__ import annotations

from typing import Any

_WEATHER = {"name": "get_weather", "description": "Weather for a city"}
_CITY = {"type": "object", "properties": {"city": {"type": "string"}}}

OPENAI_TOOLS: list[Any] = [{"type": "function", "function": {**_WEATHER, "parameters": _CITY}}]
CLAUDE_TOOLS: list[Any] = [{**_WEATHER, "input_schema": _CITY}]
RESPONSES_TOOLS: list[Any] = [{"type": "function", **_WEATHER, "parameters": _CITY}]

ASK_TEXT = "what is the weather in Paris?"
HI_BRIEFLY: list[Any] = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "hello"},
]
