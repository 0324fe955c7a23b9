"""Splicing runs of plain text stream events from the upstream's bytes into the client's.

Selector: the compiled implementation when available, else the pure-Python twin.

``RELAY_NO_EXTENSIONS`` set to a non-empty value other than ``0`` (or a non-CPython
interpreter) selects the pure twin; ``IMPLEMENTATION`` says which one is in use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relay._fast._select import NO_EXTENSIONS

__all__ = ["IMPLEMENTATION", "MAX_DEPTH", "splice_texts", "value_end"]

IMPLEMENTATION: str
if TYPE_CHECKING or NO_EXTENSIONS:
    from relay._fast._text_py import MAX_DEPTH, splice_texts, value_end

    IMPLEMENTATION = "py"
else:
    try:
        from relay._fast._text_c import MAX_DEPTH, splice_texts, value_end

        IMPLEMENTATION = "c"
    except ImportError:
        from relay._fast._text_py import MAX_DEPTH, splice_texts, value_end

        IMPLEMENTATION = "py"
