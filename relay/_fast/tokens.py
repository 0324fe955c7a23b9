"""Token estimation (new-api heuristic) and a bounded streaming token counter.

Selector: the compiled implementation when available, else the pure-Python twin.

``RELAY_NO_EXTENSIONS`` set to a non-empty value other than ``0`` (or a non-CPython
interpreter) selects the pure twin; ``IMPLEMENTATION`` says which one is in use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relay._fast._select import NO_EXTENSIONS

__all__ = [
    "FAMILY_CLAUDE",
    "FAMILY_GEMINI",
    "FAMILY_OPENAI",
    "IMPLEMENTATION",
    "StreamTokenCounter",
    "estimate_tokens",
    "family_for_model",
]

IMPLEMENTATION: str
if TYPE_CHECKING or NO_EXTENSIONS:
    from relay._fast._tokens_py import (
        FAMILY_CLAUDE,
        FAMILY_GEMINI,
        FAMILY_OPENAI,
        StreamTokenCounter,
        estimate_tokens,
        family_for_model,
    )

    IMPLEMENTATION = "py"
else:
    try:
        from relay._fast._tokens_c import (
            FAMILY_CLAUDE,
            FAMILY_GEMINI,
            FAMILY_OPENAI,
            StreamTokenCounter,
            estimate_tokens,
            family_for_model,
        )

        IMPLEMENTATION = "c"
    except ImportError:
        from relay._fast._tokens_py import (
            FAMILY_CLAUDE,
            FAMILY_GEMINI,
            FAMILY_OPENAI,
            StreamTokenCounter,
            estimate_tokens,
            family_for_model,
        )

        IMPLEMENTATION = "py"
