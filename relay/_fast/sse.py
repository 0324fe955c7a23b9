"""Incremental Server-Sent-Events decoder.

Selector: the compiled implementation when available, else the pure-Python twin.

``RELAY_NO_EXTENSIONS`` set to a non-empty value other than ``0`` (or a non-CPython
interpreter) selects the pure twin; ``IMPLEMENTATION`` says which one is in use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relay._fast._select import NO_EXTENSIONS
from relay._fast._sse_errors import SSELineTooLong

__all__ = ["IMPLEMENTATION", "SSEDecoder", "SSEEvent", "SSELineTooLong"]

IMPLEMENTATION: str
if TYPE_CHECKING or NO_EXTENSIONS:
    from relay._fast._sse_py import (
        SSEDecoder,
        SSEEvent,
    )

    IMPLEMENTATION = "py"
else:
    try:
        from relay._fast._sse_c import (
            SSEDecoder,
            SSEEvent,
        )

        IMPLEMENTATION = "c"
    except ImportError:
        from relay._fast._sse_py import (
            SSEDecoder,
            SSEEvent,
        )

        IMPLEMENTATION = "py"
