"""intake's reading of the requested output cap, which sizes the hold."""

from __future__ import annotations

import pytest

from relay.pipeline.intake import _max_tokens


@pytest.mark.parametrize(
    ("payload", "cap"),
    [
        ({"max_tokens": 100}, 100),
        ({"max_completion_tokens": 50}, 50),
        ({"max_output_tokens": 70}, 70),  # Responses
        ({"generationConfig": {"maxOutputTokens": 80}}, 80),  # Gemini
        ({"max_tokens": 0, "max_completion_tokens": 30}, 30),
        ({"max_tokens": True}, 0),
        ({"generationConfig": "x"}, 0),
        ({}, 0),
    ],
)
def test_the_output_cap_comes_from_any_formats_field(payload: dict[str, object], cap: int) -> None:
    assert _max_tokens(payload) == cap
