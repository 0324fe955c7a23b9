"""Linux process helpers for the supervisor's children."""

from __future__ import annotations

import contextlib
import ctypes
import signal
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Get SIGTERM when the parent dies, even by SIGKILL: no child outlives its supervisor."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def set_name(name: str) -> None:
    """Name this process as ps and top show it (e.g. relay-worker)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text(name[:15])
