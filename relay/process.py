"""Linux process helpers for the supervisor's children."""

from __future__ import annotations

import contextlib
import ctypes
import resource
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


def raise_open_files_limit() -> int:
    """Lift the soft limit on open files to the hard one (every stream holds two sockets; the
    common default of 1024 would cap a worker near 500 streams). Returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
