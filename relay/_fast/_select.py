"""Whether the selectors must use the pure-Python twins instead of the compiled modules."""

from __future__ import annotations

import os
import sys

# RELAY_NO_EXTENSIONS set to anything but "" or "0", or a non-CPython runtime, forces the twins.
NO_EXTENSIONS = (
    os.environ.get("RELAY_NO_EXTENSIONS", "") not in ("", "0")
    or sys.implementation.name != "cpython"
)
