"""Small asyncio helpers shared by the worker and admin processes."""

from __future__ import annotations

import asyncio
from typing import Any

RECANCEL_SECONDS = 0.05


async def cancel_quietly(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task and wait for it to end, swallowing its cancellation.

    The cancel is repeated while the task keeps running: on Python 3.11 asyncio.wait_for
    (which redis-py uses inside its commands) swallows a cancellation that races with the
    inner operation finishing, so one cancel can be lost and a loop would then run forever.
    Other exceptions of the task propagate, as awaiting it would.
    """
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=RECANCEL_SECONDS)
    if not task.cancelled():
        task.result()
