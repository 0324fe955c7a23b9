"""Linux process helpers for the supervisor's children."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import resource
import signal
from pathlib import Path

_PR_SET_PDEATHSIG = 1
# Most objects of a request die by reference count; the cyclic collector's default gen-0
# threshold (700) ran a collection every ~40 requests and a full one every few seconds that
# scanned the whole startup heap (~100 ms, which was the p99 at 64 connections).
GC_THRESHOLDS = (50_000, 20, 100)


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


def settle_heap() -> None:
    """Move what startup built into the permanent generation (full collections never scan it
    again) and let the cyclic collector run rarely. Call once, just before serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
