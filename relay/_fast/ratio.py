"""new-api quota arithmetic: pre-consumption and exact-decimal settlement.

Selector: the compiled implementation when available, else the pure-Python twin.

``RELAY_NO_EXTENSIONS`` set to a non-empty value other than ``0`` (or a non-CPython
interpreter) selects the pure twin; ``IMPLEMENTATION`` says which one is in use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relay._fast._select import NO_EXTENSIONS

__all__ = [
    "IMPLEMENTATION",
    "MAX_QUOTA",
    "MIN_QUOTA",
    "pre_consume_price",
    "pre_consume_ratio",
    "settle_price",
    "settle_ratio",
]

IMPLEMENTATION: str
if TYPE_CHECKING or NO_EXTENSIONS:
    from relay._fast._ratio_py import (
        MAX_QUOTA,
        MIN_QUOTA,
        pre_consume_price,
        pre_consume_ratio,
        settle_price,
        settle_ratio,
    )

    IMPLEMENTATION = "py"
else:
    try:
        from relay._fast._ratio_c import (
            MAX_QUOTA,
            MIN_QUOTA,
            pre_consume_price,
            pre_consume_ratio,
            settle_price,
            settle_ratio,
        )

        IMPLEMENTATION = "c"
    except ImportError:
        from relay._fast._ratio_py import (
            MAX_QUOTA,
            MIN_QUOTA,
            pre_consume_price,
            pre_consume_ratio,
            settle_price,
            settle_ratio,
        )

        IMPLEMENTATION = "py"
